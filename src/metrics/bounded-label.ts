/**
 * A label whose values come from requests (a workflow key) would let callers create series
 * without bound, each held in memory for the life of the process. The first `max` distinct
 * values are kept; later ones are reported as `_other`.
 */
export const OTHER_LABEL = '_other';

export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}
