// Ships each line of a file to a beats input the way Filebeat would (Lumberjack v2), with
// `fields.log_type` set, then exits. Needs the npm package lumberjack-client:
//   npm install --prefix build/npm lumberjack-client
//   NODE_PATH=build/npm/node_modules node examples/front/send-beats.js FILE LOG_TYPE [PORT]
const fs = require('fs');
const LumberjackClient = require('lumberjack-client');

const [file, logType, port = '5044'] = process.argv.slice(2);
if (!file || !logType) {
  console.error('usage: send-beats.js FILE LOG_TYPE [PORT]');
  process.exit(2);
}
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0);
const client = new LumberjackClient({ host: '127.0.0.1', port: Number(port) }, false);
for (const line of lines) {
  client.log({
    '@timestamp': new Date().toISOString(),
    '@metadata': { beat: 'filebeat', type: '_doc', version: '8.11.0' },
    message: line,
    fields: { log_type: logType },
    log: { file: { path: file } },
    host: { name: 'send-beats' },
    agent: { type: 'filebeat' },
  });
}
// The client sends once connected and retries until the input acknowledges; give it a moment.
setTimeout(() => process.exit(0), 3000);
console.log(`sent ${lines.length} lines to 127.0.0.1:${port}`);
