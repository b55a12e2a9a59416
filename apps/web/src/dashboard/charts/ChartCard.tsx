import type { ReactNode } from 'react';

export function ChartCard({ title, testId, children, empty }: { title: string; testId: string; children: ReactNode; empty?: string | null }) {
  return (
    <div className="card chart-card" data-testid={testId}>
      <h2>{title}</h2>
      {empty ? <p className="muted small">{empty}</p> : <div className="chart-box">{children}</div>}
    </div>
  );
}
