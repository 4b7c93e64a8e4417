/** XML 1.0 allows no control characters but tab, newline and carriage return, escaped or not: they are dropped. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(text: string): string {
  return text.replace(NOT_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface FeedEntry {
  /** Stable and unique: a feed reader shows an entry once by its id. */
  id: string;
  title: string;
  updated: Date;
  /** Absolute URL of the page the entry is about. */
  link: string;
  author: string;
  /** Plain text; a reader shows it as text, never as HTML. */
  summary: string;
}

export interface Feed {
  id: string;
  title: string;
  /** Absolute URL of the feed itself. */
  self: string;
  /** Absolute URL of the page it follows. */
  link: string;
  entries: FeedEntry[];
}

/** An Atom (RFC 4287) document: every person's and builder's string goes in escaped, as `type="text"`. */
export function renderAtom(feed: Feed): string {
  const updated = feed.entries.reduce((latest, entry) => (entry.updated > latest ? entry.updated : latest), new Date(0));
  const entries = feed.entries.map(
    (entry) => `  <entry>
    <id>${escapeXml(entry.id)}</id>
    <title type="text">${escapeXml(entry.title)}</title>
    <updated>${entry.updated.toISOString()}</updated>
    <link rel="alternate" href="${escapeXml(entry.link)}"/>
    <author><name>${escapeXml(entry.author)}</name></author>
    <summary type="text">${escapeXml(entry.summary)}</summary>
  </entry>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${escapeXml(feed.id)}</id>
  <title type="text">${escapeXml(feed.title)}</title>
  <updated>${updated.toISOString()}</updated>
  <link rel="self" href="${escapeXml(feed.self)}"/>
  <link rel="alternate" href="${escapeXml(feed.link)}"/>
${entries.join('\n')}
</feed>
`;
}
