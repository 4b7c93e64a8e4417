import { InvalidPriorityError, InvalidRoutingError, InvalidStorePathError, parseDerivationPath, parseFeatures, parsePriority, parseStorePath, parseSystem, type JobRequest } from '@lilac/common';

const OUTPUT_NAME = /^[A-Za-z0-9+\-._?=]{1,211}$/;

/**
 * Checks a list of `{drvPath, output, outPath, system?, requiredSystemFeatures?, priority?}` as Nix names things: a `.drv`
 * path, an output name, and an output path named `<drv name>` for `out` and
 * `<drv name>-<output>` for any other output. Throws on the first bad item.
 */
export function parseJobRequests(body: unknown): JobRequest[] {
  if (!Array.isArray(body)) throw new InvalidStorePathError('expected a JSON list of {drvPath, output, outPath}');
  return body.map((item: unknown, index) => {
    const at = `item ${index}`;
    if (typeof item !== 'object' || item === null) throw new InvalidStorePathError(`${at}: expected {drvPath, output, outPath}`);
    const { drvPath, output, outPath, system, requiredSystemFeatures, priority } = item as Record<string, unknown>;
    if (typeof drvPath !== 'string' || typeof output !== 'string' || typeof outPath !== 'string') {
      throw new InvalidStorePathError(`${at}: drvPath, output and outPath must be strings`);
    }
    try {
      const derivation = parseDerivationPath(drvPath);
      if (!OUTPUT_NAME.test(output)) throw new InvalidStorePathError(`invalid output name ${JSON.stringify(output)}`);
      const out = parseStorePath(outPath);
      const drvName = derivation.name.slice(0, -'.drv'.length);
      const expected = output === 'out' ? drvName : `${drvName}-${output}`;
      if (out.name !== expected) {
        throw new InvalidStorePathError(`output ${output} of ${drvPath} must be named ${JSON.stringify(expected)}, not ${JSON.stringify(out.name)}`);
      }
      return {
        drvPath: derivation.path,
        output,
        outPath: out.path,
        system: parseSystem(system),
        requiredSystemFeatures: parseFeatures(requiredSystemFeatures),
        ...(priority !== undefined && { priority: parsePriority(priority) }),
      };
    } catch (error) {
      if (error instanceof InvalidStorePathError) throw new InvalidStorePathError(`${at}: ${error.message}`);
      if (error instanceof InvalidRoutingError) throw new InvalidRoutingError(`${at}: ${error.message}`);
      if (error instanceof InvalidPriorityError) throw new InvalidPriorityError(`${at}: ${error.message}`);
      throw error;
    }
  });
}
