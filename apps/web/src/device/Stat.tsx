import type { ReactNode } from 'react';

export function Stat({ label, value, sub, testId }: { label: string; value: ReactNode; sub?: ReactNode; testId: string }) {
  return (
    <div className="stat">
      <div className="label">{label}</div>
      <div className="value" data-testid={testId}>
        {value}
      </div>
      {sub !== undefined && <div className="sub">{sub}</div>}
    </div>
  );
}
