// A real OpenID provider for tests/test_directory_signin.py: node oidc-provider (the certified
// implementation) on 127.0.0.1, with a small login page of its own in place of the dev one.
// Usage: node provider.mjs CONFIG.json   (prints "READY <issuer>" once listening)
// CONFIG: {"port", "client_id", "client_secret", "redirect_uris": [...],
//          "users": {"alice": {"password", "groups": [...], "amr": [...], "acr", "disabled"}}}
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";

import Provider from "oidc-provider";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const issuer = `http://127.0.0.1:${cfg.port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "test-key", use: "sig", alg: "RS256" };

const provider = new Provider(issuer, {
  clients: [{
    client_id: cfg.client_id,
    client_secret: cfg.client_secret,
    redirect_uris: cfg.redirect_uris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ["bodycam-test-cookie-key"] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "email", "groups"],
  // amr, acr, auth_time with every ID token, as Entra ID and Okta send them
  claims: { openid: ["sub", "acr", "amr", "auth_time", "sid"], profile: ["preferred_username", "name"], email: ["email"], groups: ["groups"] },
  conformIdTokenClaims: false, // the requested scopes' claims (groups) go into the ID token too
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const u = cfg.users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: u.username || id, name: `Test ${id}`, email: `${id}@example.org`,
                 groups: u.groups || [] };
      },
    };
  },
});

function page(res, status, body) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><title>Test IdP</title><h1>Test IdP sign-in</h1>${body}`);
}

function form(uid, error) {
  return `${error ? `<p id="error">${error}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<label>Login <input name="login" id="login"></label>
<label>Password <input type="password" name="password" id="password"></label>
<button type="submit" id="submit">Sign in</button></form>`;
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (req.method === "POST" && req.url.endsWith("/login")) {
    const f = await body(req);
    const login = f.get("login") || "";
    const u = cfg.users[login];
    if (!u || u.password !== f.get("password")) return page(res, 401, form(uid, "Wrong login or password"));
    if (u.disabled) {
      return provider.interactionFinished(req, res,
        { error: "access_denied", error_description: "the account is disabled" }, { mergeWithLastSubmission: false });
    }
    const login_result = { accountId: login };
    if (u.amr) login_result.amr = u.amr;
    if (u.acr) login_result.acr = u.acr;
    return provider.interactionFinished(req, res, { login: login_result }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === "login") return page(res, 200, form(uid, ""));
  // First-party client: consent is given for what it asked.
  const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith("/interaction/")) {
    interaction(req, res).catch((err) => { page(res, 500, `<pre>${String(err)}</pre>`); });
    return;
  }
  callback(req, res);
});
server.listen(cfg.port, "127.0.0.1", () => { console.log(`READY ${issuer}`); });
process.on("SIGTERM", () => { server.close(); process.exit(0); });
