// The join link as text and as a QR code big enough to scan from the back of a classroom.
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';

export function JoinQr({ joinUrl }: { joinUrl: string }) {
  const [svg, setSvg] = useState<string | null>(null);
  const [fullscreen, setFullscreen] = useState(false);

  useEffect(() => {
    let cancelled = false;
    QRCode.toString(joinUrl, { type: 'svg', margin: 2, errorCorrectionLevel: 'M', color: { dark: '#000000', light: '#ffffff' } })
      .then((text) => !cancelled && setSvg(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`))
      .catch(() => !cancelled && setSvg(null));
    return () => {
      cancelled = true;
    };
  }, [joinUrl]);

  useEffect(() => {
    if (!fullscreen) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setFullscreen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [fullscreen]);

  const thisMachineOnly = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])[:/]/.test(joinUrl);
  const insecure = joinUrl.startsWith('http://') && !thisMachineOnly;
  return (
    <div className="card qr-card">
      <h2>Join this run</h2>
      {svg && <img className="qr" data-testid="qr" src={svg} alt={`QR code for ${joinUrl}`} width={340} height={340} />}
      <a className="join-url" data-testid="join-url" href={joinUrl} target="_blank" rel="noreferrer">
        {joinUrl}
      </a>
      {thisMachineOnly && (
        <p className="notice small" data-testid="join-local-only">
          This address works on this computer only: phones cannot open it. Restart with <code>npm start</code> (without
          <code>--local</code>) on a computer connected to the network to serve it over https (phones then show a certificate warning once).
        </p>
      )}
            {insecure && <p className="notice small">Phones opening plain http on a LAN address get no WebGPU and no battery reading; serve over https for a classroom.</p>}
      <button type="button" data-testid="qr-fullscreen" onClick={() => setFullscreen(true)}>
        Fullscreen QR
      </button>
      {fullscreen && svg && (
        <div className="qr-overlay" role="dialog" aria-label="Join QR code" onClick={() => setFullscreen(false)}>
          <img src={svg} alt={`QR code for ${joinUrl}`} />
          <div className="join-url big-url">{joinUrl}</div>
          <div className="muted">tap or press Esc to close</div>
        </div>
      )}
    </div>
  );
}
