import { parseStorePath, type AttestationSource, type AttestationView, type OutputSummaryView, type SignatureStatus, type Verdict } from '@lilac/common';
import type { AttestationRecord } from './attestationModel.ts';
import type { OutputSummaryRecord } from './outputSummaryModel.ts';

type Timestamped = { createdAt?: Date; updatedAt?: Date };

export function attestationView(record: AttestationRecord & Timestamped): AttestationView {
  const path = parseStorePath(record.outPath);
  return {
    output_path: record.outPath,
    output_digest: path.digest,
    output_name: path.name,
    output_hash: record.narHash,
    output_sig: record.signature,
    drv_path: record.drvPath ?? null,
    builder: record.builder,
    signature: {
      status: record.signatureStatus as SignatureStatus,
      reason: record.signatureReason ?? null,
      key: record.signatureKey ?? null,
    },
    source: (record.source ?? 'api') as AttestationSource,
    nar_size: record.narSize ?? null,
    references: record.references ?? null,
    built_at: record.builtAt ? record.builtAt.toISOString() : null,
    created_at: (record.createdAt ?? new Date(0)).toISOString(),
  };
}

export function outputSummaryView(record: OutputSummaryRecord & Timestamped): OutputSummaryView {
  return {
    outPath: record.outPath,
    drvPath: record.drvPath ?? null,
    verdict: record.verdict as Verdict,
    hashes: record.hashes.map((group) => ({
      narHash: group.narHash,
      verifiedBuilders: [...group.verifiedBuilders],
      unverifiedBuilders: [...group.unverifiedBuilders],
    })),
    updatedAt: (record.updatedAt ?? new Date(0)).toISOString(),
  };
}
