import MarkdownIt from 'markdown-it';

/**
 * Comments are Markdown from people: raw HTML is off, so `<script>` and
 * `<img onerror>` come out as text; markdown-it's own link check already
 * refuses `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs, and
 * this allows only http(s) and mailto on top. Links leave with
 * `rel="noopener nofollow"`: no opener handle, no ranking given to spam.
 */
const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });

const ALLOWED_LINK = /^(https?:|mailto:)/i;
markdown.validateLink = (url) => ALLOWED_LINK.test(url.trim());

markdown.renderer.rules.link_open = (tokens, index, options, _env, self) => {
  const token = tokens[index]!;
  token.attrSet('rel', 'noopener nofollow');
  token.attrSet('target', '_blank');
  return self.renderToken(tokens, index, options);
};

// Images would let a comment make every reader's browser fetch a URL of the author's choosing.
markdown.disable('image');

export function renderMarkdown(text: string): string {
  return markdown.render(text);
}
