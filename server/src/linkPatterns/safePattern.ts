export const MAX_PATTERN_LENGTH = 200;

/**
 * Why a link pattern is refused, or null when it is a valid regular expression
 * that cannot backtrack catastrophically. Conservative: a quantified group may
 * hold neither a quantifier (star height above one, `(a+)+`) nor an
 * alternation (`(a|a)*`), and backreferences and lookarounds are refused.
 */
export function unsafePatternReason(pattern: string): string | null {
  if (pattern === '') return 'pattern is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `pattern is not a valid regular expression: ${(error as Error).message}`;
  }
  // Per open group: does its content hold a quantifier or an alternation?
  const groups: { risky: boolean }[] = [];
  let lastGroupRisky = false;
  let previousWasGroup = false;
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    let closedGroup = false;
    if (char === '\\') {
      const next = pattern[index + 1] ?? '';
      if (/[1-9k]/.test(next)) return 'backreferences are not allowed';
      index++;
    } else if (char === '[') {
      index++;
      if (pattern[index] === '^') index++;
      if (pattern[index] === ']') index++;
      while (index < pattern.length && pattern[index] !== ']') index += pattern[index] === '\\' ? 2 : 1;
    } else if (char === '(') {
      if (pattern[index + 1] === '?' && pattern[index + 2] !== ':') return 'lookarounds and named groups are not allowed';
      groups.push({ risky: false });
    } else if (char === ')') {
      lastGroupRisky = groups.pop()?.risky ?? false;
      closedGroup = true;
      if (lastGroupRisky && groups.length > 0) (groups.at(-1) as { risky: boolean }).risky = true;
    } else if (char === '|') {
      if (groups.length > 0) (groups.at(-1) as { risky: boolean }).risky = true;
    } else if (char === '*' || char === '+' || char === '?' || char === '{') {
      const unbounded = char !== '?';
      if (previousWasGroup && lastGroupRisky && unbounded) return 'nested quantifiers or quantified alternations can backtrack catastrophically';
      if (unbounded && groups.length > 0) (groups.at(-1) as { risky: boolean }).risky = true;
      if (char === '{') {
        while (index < pattern.length && pattern[index] !== '}') index++;
      }
    }
    previousWasGroup = closedGroup;
  }
  return null;
}

export function invalidLinkReason(link: string): string | null {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return 'link is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'link must be an http(s) URL';
  if (link.length > 2000) return 'link is longer than 2000 characters';
  return null;
}
