import { useState, type FormEvent } from 'react';

/** Asks for the admin token (written by the server to <runDir>/admin-token; its path is printed at start). */
export function TokenGate({ onToken, error }: { onToken: (token: string) => void; error: string | null }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) onToken(value.trim());
  };
  return (
    <main className="gate">
      <form className="card" onSubmit={submit}>
        <h1>fedbit dashboard</h1>
        <label>
          Admin token (the aggregator wrote it to the admin-token file in its run folder; the terminal shows the path)
          <input data-testid="token" type="password" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
        </label>
        {error && <p className="error small">{error}</p>}
        <button type="submit" className="primary" data-testid="token-submit">
          Open the dashboard
        </button>
      </form>
    </main>
  );
}
