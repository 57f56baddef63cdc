// `npm run dev:sinks`: local stand-ins for an inbox and a webhook receiver, to
// try the smtp and webhook providers without any account:
//   - an SMTP server on 127.0.0.1:1025 (the default SMTP_URL) that prints each email;
//   - a webhook receiver on 127.0.0.1:4000 that verifies each request's
//     Standard Webhooks signature with the user's secret, fetched from the API
//     (API_URL, default http://127.0.0.1:3000), and prints the payload.
import http from 'node:http';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { takeNoArguments } from './no-arguments.mjs';

const USAGE = `usage: npm run dev:sinks
  an SMTP sink and a webhook receiver on 127.0.0.1; takes no arguments, only the environment:
  SMTP_PORT (1025), WEBHOOK_PORT (4000), API_URL (http://127.0.0.1:3000), API_KEY`;
takeNoArguments(USAGE);

const SMTP_PORT = Number(process.env.SMTP_PORT ?? 1025);
const WEBHOOK_PORT = Number(process.env.WEBHOOK_PORT ?? 4000);
const API_URL = process.env.API_URL ?? 'http://127.0.0.1:3000';
const API_KEY = process.env.API_KEY;

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, done) {
    simpleParser(stream)
      .then((mail) => {
        console.log(`\n[smtp] to ${session.envelope.rcptTo.map((r) => r.address).join(', ')}: "${mail.subject}"`);
        console.log(mail.text?.trim());
        done();
      })
      .catch(done);
  },
});
smtp.listen(SMTP_PORT, '127.0.0.1', () => console.log(`SMTP sink on smtp://127.0.0.1:${SMTP_PORT}`));

http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        const userId = JSON.parse(raw).data.user_id;
        const user = await fetch(`${API_URL}/users/${encodeURIComponent(userId)}`, {
          headers: API_KEY ? { authorization: `Bearer ${API_KEY}` } : {},
        }).then((r) => r.json());
        const event = new Webhook(user.webhook_secret).verify(raw, req.headers);
        console.log(`\n[webhook] ${req.url} id=${req.headers['webhook-id']} signature verified`);
        console.log(JSON.stringify(event, null, 2));
        res.writeHead(204).end();
      } catch (err) {
        console.log(`\n[webhook] ${req.url} REFUSED: ${err.message}`);
        res.writeHead(401).end();
      }
    });
  })
  .listen(WEBHOOK_PORT, '127.0.0.1', () => console.log(`Webhook receiver on http://127.0.0.1:${WEBHOOK_PORT}/hooks`));
