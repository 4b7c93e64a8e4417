import { DEFAULT_DIFFOSCOPE_MAX_BYTES } from '@lilac/common';

/** How diffoscope runs between two copies of an output. */
export interface DiffoscopeSettings {
  /** 0: diffoscope is not run. */
  readonly timeoutMs: number;
  /** Output beyond this is cut and marked truncated. */
  readonly maxBytes: number;
  /** Also upload its HTML report. */
  readonly html: boolean;
}

export const DEFAULT_DIFFOSCOPE_TIMEOUT_SECONDS = 300;

export const DEFAULT_DIFFOSCOPE_SETTINGS: DiffoscopeSettings = {
  timeoutMs: DEFAULT_DIFFOSCOPE_TIMEOUT_SECONDS * 1000,
  maxBytes: DEFAULT_DIFFOSCOPE_MAX_BYTES,
  html: false,
};

const YES = new Set(['1', 'true', 'yes', 'on']);
const NO = new Set(['', '0', 'false', 'no', 'off']);

/** Seconds as milliseconds, or null when `text` is not a non-negative number. */
function timeoutMsOf(text: string): number | null {
  const seconds = Number(text);
  return text.trim() !== '' && Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : null;
}

function timeoutProblem(text: string): string {
  return `the diffoscope timeout must be a number of seconds (0: do not run it), not ${JSON.stringify(text)}`;
}

/**
 * `LILAC_DIFFOSCOPE_TIMEOUT` (seconds, 0 turns diffoscope off) and
 * `LILAC_DIFFOSCOPE_HTML` (1 or 0) from the settings. A value that cannot be
 * used keeps its default and is named in `problems`.
 */
export function readDiffoscopeSettings(settings: NodeJS.ProcessEnv, problems: string[]): DiffoscopeSettings {
  let { timeoutMs, html } = DEFAULT_DIFFOSCOPE_SETTINGS;
  const timeoutText = settings.LILAC_DIFFOSCOPE_TIMEOUT;
  if (timeoutText !== undefined) {
    const parsed = timeoutMsOf(timeoutText);
    if (parsed === null) problems.push(`${timeoutProblem(timeoutText)}: using ${DEFAULT_DIFFOSCOPE_TIMEOUT_SECONDS}`);
    else timeoutMs = parsed;
  }
  const htmlText = settings.LILAC_DIFFOSCOPE_HTML?.trim().toLowerCase();
  if (htmlText !== undefined) {
    if (YES.has(htmlText)) html = true;
    else if (!NO.has(htmlText)) problems.push(`LILAC_DIFFOSCOPE_HTML must be 1 or 0, not ${JSON.stringify(settings.LILAC_DIFFOSCOPE_HTML)}`);
  }
  return { timeoutMs, maxBytes: DEFAULT_DIFFOSCOPE_MAX_BYTES, html };
}

/** `--diffoscope-timeout SECONDS` and `--diffoscope-html` over the settings; throws when the timeout is not a number of seconds. */
export function withDiffoscopeFlags(settings: DiffoscopeSettings, flags: { timeoutSeconds?: string | undefined; html?: boolean | undefined }): DiffoscopeSettings {
  let { timeoutMs } = settings;
  if (flags.timeoutSeconds !== undefined) {
    const parsed = timeoutMsOf(flags.timeoutSeconds);
    if (parsed === null) throw new Error(`--diffoscope-timeout: ${timeoutProblem(flags.timeoutSeconds)}`);
    timeoutMs = parsed;
  }
  return { ...settings, timeoutMs, html: flags.html ?? settings.html };
}
