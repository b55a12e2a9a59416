import type { Preference } from './messages';

const OPTIONS: Array<{ value: Preference; label: string }> = [
  { value: 'save-battery', label: 'Save battery (fewer bits)' },
  { value: 'balanced', label: 'Balanced' },
  { value: 'best-quality', label: 'Best quality (more bits)' },
];

/** The person's own demand, which the on-demand precision policy weighs with battery and bandwidth. */
export function PreferenceSelect({ value, onChange }: { value: Preference; onChange: (value: Preference) => void }) {
  return (
    <label>
      What matters to you
      <select data-testid="preference" value={value} onChange={(e) => onChange(e.target.value as Preference)}>
        {OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
