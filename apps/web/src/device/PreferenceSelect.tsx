import { PREFERENCES, type Preference } from '@fedbit/core/vocabulary';

/** A label for every word of the vocabulary: the compiler says when a preference is added without one. */
const LABELS: Record<Preference, string> = {
  'save-battery': 'Save battery (fewer bits)',
  balanced: 'Balanced',
  'best-quality': 'Best quality (more bits)',
};

/** The person's own demand, which the on-demand precision policy weighs with battery and bandwidth. */
export function PreferenceSelect({ value, onChange }: { value: Preference; onChange: (value: Preference) => void }) {
  return (
    <label>
      What matters to you
      <select data-testid="preference" value={value} onChange={(e) => onChange(e.target.value as Preference)}>
        {PREFERENCES.map((value) => (
          <option key={value} value={value}>
            {LABELS[value]}
          </option>
        ))}
      </select>
    </label>
  );
}
