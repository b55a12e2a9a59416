// Who can join a run `npm start` serves (issue 14, the classroom). A class joins from phones on the
// laptop's network, and a phone's browser gives WebGPU and the Battery API only to a secure context
// (https://, or http://localhost), so with no flag that says otherwise the aggregator serves HTTPS
// with a self-signed certificate on every interface and prints the LAN join URL. `--local` keeps
// the run on this computer (plain http on 127.0.0.1, no certificate warning); a machine with no
// network address gets that too, and the banner says why.
import { UsageError } from './args';

export interface ReachFlags {
  local: boolean;
  https: boolean;
  bind?: string;
  /** Both PEM files read, when --cert and --key were given. */
  certificate?: { cert: string; key: string };
}

export interface Reach {
  tls: 'self-signed' | { cert: string; key: string } | undefined;
  bind: string;
  /** One line for the start banner: who can open the join URL, and how to choose otherwise. */
  note: string;
}

export function chooseReach(flags: ReachFlags, lanAddress: string | null): Reach {
  if (flags.local) {
    const clash = [flags.https && '--https', flags.certificate && '--cert/--key', flags.bind && '--bind'].filter(Boolean);
    if (clash.length) throw new UsageError(`--local serves this computer only, over http on 127.0.0.1; it cannot go with ${clash.join(', ')}`);
    return { tls: undefined, bind: '127.0.0.1', note: 'this computer only (--local): phones cannot open this URL; without --local, npm start serves the network over https' };
  }
  if (flags.certificate) return { tls: flags.certificate, bind: flags.bind ?? '0.0.0.0', note: 'https with your certificate' };
  if (flags.https) return { tls: 'self-signed', bind: flags.bind ?? '0.0.0.0', note: SELF_SIGNED_NOTE };
  if (flags.bind) return { tls: undefined, bind: flags.bind, note: `plain http on ${flags.bind}: phones that join get neither WebGPU nor the battery level (add --https)` };
  if (!lanAddress) {
    return { tls: undefined, bind: '127.0.0.1', note: 'this computer has no network address, so the run serves this computer only; connect to a network and restart to let phones join' };
  }
  return { tls: 'self-signed', bind: '0.0.0.0', note: `${SELF_SIGNED_NOTE}; this computer only, without the warning: npm start -- --local` };
}

const SELF_SIGNED_NOTE = 'phones on this network can join; the certificate is self-signed, so each phone shows a warning once (Advanced, then Proceed; README "Joining from phones")';
