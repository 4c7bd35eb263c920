#!/usr/bin/env node
// Sends HL7 messages with node-hl7-client (a peer we did not write) and waits
// for every ACK. Usage: node send.js HOST PORT FILE... (one message per file,
// segments separated by CR or LF). Prints "<MSA-1> <MSA-2>" per ACK and exits
// 0 only if every ACK is AA/CA; 1 on a negative ACK; 3 on a network failure
// or timeout.
'use strict';
const fs = require('fs');
const { Client, Message } = require('node-hl7-client');

const [host, portText, ...files] = process.argv.slice(2);
if (!host || !portText || files.length === 0) {
  console.error('usage: send.js HOST PORT FILE...');
  process.exit(2);
}
const kTimeoutMs = Number(process.env.NODE_SEND_TIMEOUT_MS || 20000);
const messages = files.map((f) =>
  fs.readFileSync(f, 'latin1').replace(/\r\n|\n/g, '\r').replace(/\r+$/, ''));

const timer = setTimeout(() => {
  console.error(`send.js: timed out after ${kTimeoutMs} ms`);
  process.exit(3);
}, kTimeoutMs);

const client = new Client({ host, connectionTimeout: 5000 });
let failed = false;
let onAck = null;
const connection = client.createConnection(
  { port: Number(portText), waitAck: true },
  async (res) => {
    const ack = res.getMessage();
    const code = ack.get('MSA.1').toString();
    const id = ack.get('MSA.2').toString();
    console.log(`${code} ${id}`);
    if (code !== 'AA' && code !== 'CA') failed = true;
    if (onAck) onAck();
  });
connection.on('client.error', (err) => {
  console.error(`send.js: client error: ${err && err.message ? err.message : err}`);
  process.exit(3);
});

(async () => {
  // One message at a time: send, then wait for its ACK (what an MLLP sender does).
  for (const text of messages) {
    const acked = new Promise((resolve) => { onAck = resolve; });
    await connection.sendMessage(new Message({ text }));
    await acked;
  }
  clearTimeout(timer);
  await connection.close();
  client.closeAll();
  process.exit(failed ? 1 : 0);
})().catch((err) => {
  console.error(`send.js: ${err && err.stack ? err.stack : err}`);
  process.exit(3);
});
