// The run as it happens: 'run:status' and 'round:summary' from the /watch namespace, with a
// 2-second poll of /api/status whenever the socket is down. Rounds are re-read on each summary.
import { useCallback, useEffect, useState } from 'react';
import { io } from 'socket.io-client';
import { api, type RoundSummary, type RunStatus } from './api';

export interface LiveRun {
  status: RunStatus | null;
  rounds: RoundSummary[];
  live: boolean;
  error: string | null;
  refresh(): void;
}

export function useLiveRun(): LiveRun {
  const [status, setStatus] = useState<RunStatus | null>(null);
  const [rounds, setRounds] = useState<RoundSummary[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const loadRounds = useCallback(() => {
    api
      .rounds()
      .then((r) => setRounds(r.rounds))
      .catch((e: Error) => setError(`cannot read /api/rounds: ${e.message}`));
  }, []);
  const loadStatus = useCallback(() => {
    api
      .status()
      .then((s) => {
        setStatus(s);
        setError(null);
      })
      .catch((e: Error) => setError(`cannot reach the aggregator: ${e.message}`));
  }, []);

  useEffect(() => {
    const socket = io('/watch', { transports: ['websocket'] });
    socket.on('connect', () => setLive(true));
    socket.on('disconnect', () => setLive(false));
    socket.on('run:status', (s: RunStatus) => setStatus(s));
    socket.on('round:summary', () => loadRounds());
    loadStatus();
    loadRounds();
    return () => {
      socket.close();
    };
  }, [loadRounds, loadStatus]);

  useEffect(() => {
    if (live) return;
    const timer = setInterval(() => {
      loadStatus();
    }, 2000);
    return () => clearInterval(timer);
  }, [live, loadStatus]);

  // Polling sees a new round without a summary event: read the rounds when the count moves.
  const completed = status?.round ?? 0;
  useEffect(() => {
    if (completed > rounds.length) loadRounds();
  }, [completed, rounds.length, loadRounds]);

  const refresh = useCallback(() => {
    loadStatus();
    loadRounds();
  }, [loadStatus, loadRounds]);

  return { status, rounds, live, error, refresh };
}
