/** The result table: one row per figure, with its target (when the issue sets one) and whether it is met. */
export interface Row {
  section: string;
  metric: string;
  value: string;
  target?: string;
  /** undefined: no target for this figure. */
  met?: boolean;
}

export function markdownTable(rows: Row[]): string {
  const lines = ["| Section | Metric | Value | Target | Met |", "|---|---|---|---|---|"];
  for (const row of rows) {
    const met = row.met === undefined ? "" : row.met ? "yes" : "**no**";
    lines.push(`| ${row.section} | ${row.metric} | ${row.value} | ${row.target ?? ""} | ${met} |`);
  }
  return lines.join("\n");
}

export const ms = (value: number) => `${value.toFixed(value < 10 ? 3 : 1)} ms`;
