// Fuzzy matching of file paths for quick open: the query's characters must
// appear in order; matches in the file name, at word starts and in runs score higher.

/** A score (higher is better) or -1 when `path` does not match. */
export function fuzzyScore(query: string, path: string): number {
  const q = query.toLowerCase().replace(/\s+/g, '')
  if (!q) return 0
  const p = path.toLowerCase()
  const nameStart = p.lastIndexOf('/') + 1
  let score = 0
  let at = -1
  let run = 0
  for (const ch of q) {
    const i = p.indexOf(ch, at + 1)
    if (i < 0) return -1
    run = i === at + 1 ? run + 1 : 0
    score += 1 + run * 2
    if (i >= nameStart) score += 2
    if (i === nameStart || '/._-'.includes(p[i - 1] ?? '/')) score += 3
    at = i
  }
  return score - path.length * 0.01
}

/** The best `limit` matches of query among paths, best first. */
export function fuzzyFilter(query: string, paths: string[], limit = 50): string[] {
  if (!query.trim()) return paths.slice(0, limit)
  return paths
    .map((p) => [p, fuzzyScore(query, p)] as const)
    .filter(([, s]) => s >= 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([p]) => p)
}
