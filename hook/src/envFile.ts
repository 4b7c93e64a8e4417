/** Where the hooks' settings live unless `LILAC_ENV_FILE` says otherwise. */
export const DEFAULT_ENV_FILE = '/etc/lilac/hook.env';

export interface EnvFileContents {
  readonly values: Readonly<Record<string, string>>;
  /** Lines that are not `KEY=value`, each described in one sentence. */
  readonly problems: readonly string[];
}

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

function unquote(raw: string): string | null {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    const end = raw.indexOf(quote, 1);
    if (end < 0) return null;
    const rest = raw.slice(end + 1).trim();
    return rest === '' || rest.startsWith('#') ? raw.slice(1, end) : null;
  }
  // As in sh, ` #` starts a comment and a `#` inside a word does not.
  return raw.replace(/\s+#.*$/, '').trim();
}

/**
 * Parses the `KEY=value` lines the wrappers used to source with `sh`: blank
 * lines and `#` comments are skipped, `export ` is allowed, and a value may be
 * quoted. Nothing is expanded, so a file is read the same by every command.
 */
export function parseEnvFile(text: string, file: string): EnvFileContents {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = ASSIGNMENT.exec(trimmed);
    const value = match === null ? null : unquote(match[2]!);
    if (match === null || value === null) problems.push(`${file} line ${index + 1} is not KEY=value: ${trimmed.slice(0, 80)}`);
    else values[match[1]!] = value;
  }
  return { values, problems };
}
