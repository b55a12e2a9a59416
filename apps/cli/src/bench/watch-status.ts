// A dashboard for the server benchmark, in a process of its own (its parsing is not the
// aggregator's cost): it watches /watch and prints the size on the wire of every `run:status` push,
// one line each ("status <bytes>").
// Usage: tsx watch-status.ts <aggregator url>
import { io } from 'socket.io-client';
import { ServerEvent } from '@fedbit/core';

const socket = io(`${process.argv[2]}/watch`, { transports: ['websocket'] });
const marker = `"${ServerEvent.status}"`;
socket.io.on('open', () => {
  socket.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
    if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.slice(0, 40).includes(marker)) {
      process.stdout.write(`status ${Buffer.byteLength(packet.data)}\n`);
    }
  });
});
socket.on('connect', () => process.stdout.write('watching\n'));
