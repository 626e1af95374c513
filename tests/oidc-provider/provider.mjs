// A real OpenID Connect provider (oidc-provider) for warren's sign-in tests and for signing in
// locally during development. Its built-in development login accepts any login name with any
// password: `alice` signs in as subject `alice` with the verified e-mail alice@example.com;
// `alice:alice.new@example.com` is the same subject with another e-mail; a login starting with
// `unverified` has an e-mail the provider has not verified.
//
// Environment: OIDC_PORT (0 picks a free one), OIDC_HOST (the issuer's host name, localhost),
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (comma-separated). The first line on
// stdout is {"issuer": "..."} once it listens.
import http from 'node:http';
import Provider from 'oidc-provider';

const clientId = process.env.OIDC_CLIENT_ID ?? 'warren';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'warren-development-secret';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:8000/auth/callback')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);
const host = process.env.OIDC_HOST ?? 'localhost';
const port = Number(process.env.OIDC_PORT ?? 0);

function account(login) {
  const [subject, email] = login.split(':');
  const name = subject.charAt(0).toUpperCase() + subject.slice(1);
  return {
    sub: subject,
    email: email ?? `${subject}@example.com`,
    email_verified: !subject.startsWith('unverified'),
    name,
  };
}

// Logins carry their e-mail, so remember the last one per subject for the token's claims.
const accounts = new Map();

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://${host}:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    // PKCE on every authorization request (S256 is the only method it accepts).
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // The ID token carries the claims itself, as most providers' do.
    conformIdTokenClaims: false,
    cookies: { keys: ['warren-oidc-provider-development-key'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return accounts.get(id) ?? account(id);
        },
      };
    },
  });
  // The development login submits the login name as the account id; keep the subject only,
  // and the e-mail the login named for the claims.
  const original = provider.interactionFinished.bind(provider);
  provider.interactionFinished = async (req, res, result, options) => {
    if (result?.login?.accountId) {
      const claims = account(result.login.accountId);
      accounts.set(claims.sub, claims);
      result.login.accountId = claims.sub;
    }
    return original(req, res, result, options);
  };
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
