#!/usr/bin/env node
// node-hl7-server (npm; a peer we did not write) on 127.0.0.1: parses each
// message and answers AA without storing anything. Prints "listening PORT"
// once ready. Usage: node node_ack_server.js [PORT]  (0 = any free port).
// Resolves node-hl7-server from tests/integration/node/node_modules.
'use strict';
const path = require('path');
const modules = path.join(__dirname, '..', '..', 'tests', 'integration', 'node', 'node_modules');
const { Server } = require(path.join(modules, 'node-hl7-server'));

const server = new Server({ bindAddress: '127.0.0.1' });
const inbound = server.createInbound({ port: Number(process.argv[2] || 0) }, async (req, res) => {
  await res.sendResponse('AA');
});
inbound.on('listen', () => {
  console.log(`listening ${inbound._socket.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
