import type { ReactNode } from 'react'

/**
 * A small Markdown subset rendered to React elements — never to an HTML string — so a note can
 * hold no markup of its own: `<script>`, `<img onerror>` and friends show as the text they are.
 * Headings, paragraphs, lists, fenced code, inline code, bold, italic and links (http, https
 * and mailto only; others stay text). Enough for run notes; no tables or embedded images.
 */
export function Markdown({ source, label }: { source: string; label?: string }): React.JSX.Element {
  return (
    <div className="markdown" aria-label={label}>
      {blocks(source)}
    </div>
  )
}

function blocks(source: string): ReactNode[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n')
  const out: ReactNode[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.trim() === '') {
      i++
      continue
    }
    const fence = /^```/.exec(line)
    if (fence) {
      const code: string[] = []
      i++
      while (i < lines.length && !/^```/.test(lines[i]!)) code.push(lines[i++]!)
      i++ // the closing fence (or the end)
      out.push(
        <pre key={out.length}>
          <code>{code.join('\n')}</code>
        </pre>
      )
      continue
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line)
    if (heading) {
      const Tag = `h${Math.min(6, heading[1]!.length + 2)}` as 'h3'
      out.push(<Tag key={out.length}>{inline(heading[2]!)}</Tag>)
      i++
      continue
    }
    const bullet = /^\s*[-*+]\s+/
    const numbered = /^\s*\d+[.)]\s+/
    if (bullet.test(line) || numbered.test(line)) {
      const pattern = bullet.test(line) ? bullet : numbered
      const items: string[] = []
      while (i < lines.length && pattern.test(lines[i]!)) items.push(lines[i++]!.replace(pattern, ''))
      const children = items.map((item, index) => <li key={index}>{inline(item)}</li>)
      out.push(pattern === bullet ? <ul key={out.length}>{children}</ul> : <ol key={out.length}>{children}</ol>)
      continue
    }
    const paragraph: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(```|#{1,6}\s)/.test(lines[i]!) && !bullet.test(lines[i]!) && !numbered.test(lines[i]!)) {
      paragraph.push(lines[i++]!)
    }
    out.push(
      <p key={out.length}>
        {paragraph.flatMap((text, index) => (index === 0 ? [inline(text)] : [<br key={`br${index}`} />, inline(text)]))}
      </p>
    )
  }
  return out
}

const SAFE_LINK = /^(https?:\/\/|mailto:)/i

/** Inline code, links, bold and italic, innermost last; anything else is text. */
function inline(text: string): ReactNode {
  const parts: ReactNode[] = []
  const pattern = /`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*]+)\*|_([^_]+)_/g
  let last = 0
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match.index > last) parts.push(text.slice(last, match.index))
    const key = parts.length
    if (match[1] !== undefined) parts.push(<code key={key}>{match[1]}</code>)
    else if (match[2] !== undefined) {
      const href = match[3]!
      parts.push(
        SAFE_LINK.test(href) ? (
          <a key={key} href={href} target="_blank" rel="noopener noreferrer">
            {inline(match[2])}
          </a>
        ) : (
          match[0]
        )
      )
    } else if (match[4] !== undefined || match[5] !== undefined) parts.push(<strong key={key}>{inline(match[4] ?? match[5]!)}</strong>)
    else parts.push(<em key={key}>{inline(match[6] ?? match[7]!)}</em>)
    last = match.index + match[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts.length === 1 ? parts[0] : parts
}
