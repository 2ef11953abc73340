"""External secrets accuracy set: provider tokens synthesised at run time inside realistic carriers.

No public labelled secrets corpus fits (real leaked keys cannot be shipped, and scanners' fixtures are
tiny), so ``load()`` builds one from a fixed seed: tokens in each provider's documented format (AWS key ids
and secret keys, GitHub classic and fine-grained, OpenAI legacy/project/service-account/admin, Anthropic,
Slack bot/user/app tokens and webhooks, Stripe secret/restricted/webhook keys, PEM and OpenSSH private
keys, JWTs, high-entropy passwords and API keys), each embedded in carriers people paste into prompts
(.env files, Python, JS, JSON, YAML, TOML, Dockerfiles, Kubernetes manifests, curl commands, log lines,
stack traces, chat prose in several languages), plus benign carriers full of near-misses. The templates
here are written independently of ``tests/corpus/secrets.jsonl`` so the two check each other. Only the
standard library is needed; nothing is downloaded.

Run: ``python benchmarks/accuracy/external_secrets.py`` (per-type precision/recall and a few misses).
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
from collections.abc import Callable

AWS, GITHUB, OPENAI, ANTHROPIC = ("secret.aws_access_key", "secret.github_token", "secret.openai_key",
                                  "secret.anthropic_key")
SLACK, STRIPE, PRIVATE_KEY, JWT, GENERIC = ("secret.slack_token", "secret.stripe_key", "secret.private_key",
                                            "secret.jwt", "secret.generic")
TYPES = (AWS, GITHUB, OPENAI, ANTHROPIC, SLACK, STRIPE, PRIVATE_KEY, JWT, GENERIC)

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
DIGITS = string.digits
UPPER_NUM = string.ascii_uppercase + string.digits


class _Gen:
    """Token generators for every provider format, from one seeded RNG."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def s(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def aws_id(self) -> str:
        prefix = self.r.choice(["AKIA"] * 6 + ["ASIA"] * 3 + ["AROA", "AIDA", "AGPA", "ANPA", "AIPA"])
        return prefix + self.s(16, self.r.choice([UPPER_NUM, string.ascii_uppercase + "234567"]))

    def aws_secret(self) -> str:
        return self.s(40, B64)

    def github(self) -> str:
        if self.r.random() < 0.3:
            return f"github_pat_{self.s(22)}_{self.s(59)}"
        return f"{self.r.choice(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_{self.s(36)}"

    def openai(self) -> str:
        kind = self.r.randrange(4)
        if kind == 0:
            return f"sk-{self.s(20)}T3BlbkFJ{self.s(20)}"
        if kind == 1:
            return f"sk-proj-{self.s(74, URLSAFE)}T3BlbkFJ{self.s(74, URLSAFE)}"
        if kind == 2:
            return f"sk-svcacct-{self.s(60, URLSAFE)}T3BlbkFJ{self.s(60, URLSAFE)}"
        return f"sk-admin-{self.s(56, URLSAFE)}"

    def anthropic(self) -> str:
        return f"sk-ant-{self.r.choice(['api03', 'api03', 'admin01'])}-{self.s(93, URLSAFE)}AA"

    def slack(self) -> str:
        kind = self.r.randrange(5)
        if kind == 0:
            return f"xoxb-{self.s(11, DIGITS)}-{self.s(13, DIGITS)}-{self.s(24)}"
        if kind == 1:
            return f"xoxp-{self.s(11, DIGITS)}-{self.s(11, DIGITS)}-{self.s(13, DIGITS)}-{self.s(32, HEX)}"
        if kind == 2:
            return f"xapp-1-A{self.s(10, UPPER_NUM)}-{self.s(13, DIGITS)}-{self.s(64, HEX)}"
        if kind == 3:
            return f"xoxa-2-{self.s(11, DIGITS)}-{self.s(12, DIGITS)}-{self.s(32, HEX)}"
        return (f"https://hooks.slack.com/services/T{self.s(8, UPPER_NUM)}/B{self.s(10, UPPER_NUM)}/"
                f"{self.s(24)}")

    def stripe(self) -> str:
        if self.r.random() < 0.15:
            return f"whsec_{self.s(32)}"
        prefix = self.r.choice(["sk_live_", "rk_live_", "sk_test_", "rk_test_"])
        return prefix + self.s(self.r.choice([24, 32, 99]))

    def pem(self, escaped: bool = False) -> str:
        kind = self.r.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                              "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY", "PGP PRIVATE KEY BLOCK"])
        nl = "\\n" if escaped else "\n"
        lines = [self.s(64, B64) for _ in range(self.r.randint(3, 25))]
        lines.append(self.s(self.r.randint(4, 60), B64) + "=")
        return f"-----BEGIN {kind}-----{nl}{nl.join(lines)}{nl}-----END {kind}-----"

    def jwt(self) -> str:
        def seg(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        header: dict[str, str] = {"alg": self.r.choice(["HS256", "RS256", "ES256", "HS512", "EdDSA"])}
        if self.r.random() < 0.7:
            header["typ"] = "JWT"
        if self.r.random() < 0.4:
            header["kid"] = self.s(12, URLSAFE)
        claims = {"sub": self.s(10, DIGITS), "iat": 1_700_000_000 + self.r.randrange(10**7),
                  "scope": self.r.choice(["read", "read write", "admin"])}
        sig = self.s(self.r.choice([43, 86, 342]), URLSAFE)
        return f"{seg(header)}.{seg(claims)}.{sig}"

    def password(self) -> str:
        n = self.r.randint(10, 22)
        chars = [self.r.choice(string.ascii_lowercase), self.r.choice(string.ascii_uppercase),
                 self.r.choice(DIGITS), self.r.choice("!%^*_+=~-.#$@")]
        chars += [self.r.choice(ALNUM + "!%^*_+=#$") for _ in range(n - 4)]
        self.r.shuffle(chars)
        return "".join(chars)

    def api_token(self) -> str:
        kind = self.r.randrange(6)
        if kind == 4:  # providers outside the structural types: GitLab, Hugging Face, SendGrid, npm, Google
            return self.r.choice(["glpat-", "hf_", "npm_", "AIza", "dop_v1_"]) + self.s(32, URLSAFE)
        if kind == 5:
            return f"SG.{self.s(22, URLSAFE)}.{self.s(43, URLSAFE)}"
        if kind == 0:
            return self.s(32, HEX)
        if kind == 1:
            return self.s(self.r.randint(24, 48))
        if kind == 2:
            return self.s(43, URLSAFE)
        return self.s(40, B64) + "="


# Carriers for a provider token: {v} is the token, {n} an environment-variable style name for it.
TOKEN_CARRIERS: tuple[str, ...] = (
    "{n}={v}",
    "export {n}=\"{v}\"",
    "{n}: {v}",
    "  {n}: '{v}'",
    "{{\"{n}\": \"{v}\"}}",
    "ENV {n}={v}",
    "client = make_client(api_key=\"{v}\")",
    "const key = '{v}';",
    "curl -s https://api.example.com/v1/me -H \"Authorization: Bearer {v}\"",
    "[2024-03-02 08:14:55,201] INFO worker.auth - using credential {v} for upstream",
    "Traceback (most recent call last):\n  File \"app.py\", line 12, in <module>\n    client.login(\"{v}\")\n"
    "AuthError: invalid credential",
    "hey, quick question: I set my key to {v} and it still fails with 401. any idea?",
    "Hallo, mein Schlüssel ist {v} – warum funktioniert das nicht?",
    "Hola, mi clave es {v}, ¿por qué no funciona?",
    "```\n{n}={v}\n```\nwhat am I doing wrong?",
    "| name | value |\n|---|---|\n| {n} | {v} |",
    "<add key=\"{n}\" value=\"{v}\" />",
    "[credentials]\n{n} = \"{v}\"",
    "kubectl create secret generic app --from-literal={n}={v}",
    "- name: {n}\n  value: \"{v}\"",
    "{v}",
    "keys = [\n    \"{v}\",\n]",
    "https://api.example.com/v1/data?format=json&access_token={v}",
    "**Key:** `{v}`",
    "From: ops@example.com\nSubject: new credentials\n\nHi team, the new one is {v}.\nThanks",
    "setx {n} \"{v}\"",
    "{n}=\"{v}\" # rotated 2024-05",
    "print(requests.get(url, headers={{'Authorization': 'Bearer {v}'}}).json())",
    "(see {v})",
    "Je n'arrive pas à me connecter avec la clé {v}, pouvez-vous vérifier ?",
)
# Carriers for a generic credential: {k} is a credential-like name, {v} its value.
ASSIGN_CARRIERS: tuple[str, ...] = (
    "{k}={v}",
    "{k} = \"{v}\"",
    "{k}: {v}",
    "\"{k}\": \"{v}\",",
    "  {k}: \"{v}\"",
    "export {k}='{v}'",
    "self.{k} = '{v}'",
    "config[\"{k}\"] = \"{v}\"",
    "<{k}>{v}</{k}>",
    "{k} => '{v}',",
    "{k} := \"{v}\"",
    "set {k}={v}",
    "docker run -e {k}={v} registry/app:latest",
    "2024-02-11T09:12:03Z DEBUG settings loaded {k}={v} region=eu-west-1",
    "my {k} is {v} — can you check the config?",
    "{k} : {v}",
    "{k}:{v}",
    "'{k}': '{v}',",
    "ENV['{k}'] = '{v}'",
    "<property name=\"{k}\" value=\"{v}\"/>",
    "{k} = {v}",
    "  - {k}={v}",
    "the {k} for staging is {v}",
)
PASSWORD_NAMES = ("password", "DB_PASSWORD", "db_pass", "passwd", "MYSQL_ROOT_PASSWORD", "adminPassword",
                  "smtp_password", "redis_password", "PGPASSWORD", "pwd", "ldap_bind_password", "passphrase")
TOKEN_NAMES = ("api_key", "API_KEY", "apiKey", "secret", "client_secret", "CLIENT_SECRET", "auth_token",
               "access_token", "SECRET_KEY", "secret_key", "x-api-key", "webhook_secret", "private_key",
               "signing_key", "ENCRYPTION_KEY", "sessionSecret", "refresh_token", "service_account_key",
               "MAILGUN_API_KEY", "DATADOG_API_KEY", "app_secret", "consumer_secret", "master_key")
URL_CARRIERS: tuple[str, ...] = (
    "DATABASE_URL=postgres://{u}:{p}@db.internal:5432/app",
    "mysql://{u}:{p}@10.0.3.4:3306/shop",
    "REDIS_URL=redis://{u}:{p}@cache.local:6379/1",
    "amqp://{u}:{p}@rabbit:5672/%2f",
    "engine = create_engine(\"postgresql+psycopg://{u}:{p}@localhost/analytics\")",
    "mongodb://{u}:{p}@mongo-0.mongo:27017/?replicaSet=rs0",
    "git clone https://{u}:{p}@git.example.com/team/repo.git",
    "ftp://{u}:{p}@files.example.org/pub/",
    "curl -u {u}:{p} https://api.example.com/v2/reports",
    "sshpass -p '{p}' ssh {u}@10.20.0.4",
    "docker login -u {u} -p {p} registry.example.com",
)

# Benign texts: near-misses that must produce no secret finding.
BENIGN: tuple[str, ...] = (
    "The deploy from commit 9fceb02d0ae598e95dc970b74767f19372d61af8 broke the build.",
    "Trace 4bf92f3577b34da6a3ce929d0e0e4736 shows the slow span in the checkout service.",
    "Correlation id: 123e4567-e89b-12d3-a456-426614174000",
    "SHA256 (release.tar.gz) = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    "md5sum: d41d8cd98f00b204e9800998ecf8427e  empty.txt",
    "background-image: url(data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7);",
    "She gave him the ring as a token of her gratitude.",
    "Palette: #0d1117, #161b22, #21262d, #30363d and accent #58a6ff.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a famously long word.",
    "Docs live at https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Authorization",
    "numpy==1.26.4 pandas==2.2.1 scikit-learn==1.4.1.post1",
    "If you forgot it, use the password reset link on the sign-in page.",
    "STRIPE_PUBLISHABLE_KEY=pk_live_51Hc8yTLkdIwHu7ixa2Sg4G0kMv9nnYyWyEUE8NF6KXJuL1n7gMu5ep4pD3yC",
    "Stripe('pk_test_51Hc8yTLkdIwHu7ixa2Sg4G0kMv9nnYyWyEUE8NF6KXJ')",
    "eyJzb21lIjoidGV4dCBub3QgYSBqd3Q.eyJmb28iOiJiYXIifQ.YWJjZGVmZ2hpams",
    "eyJuYW1lIjoiYSJ9.eyJiIjoxfQ.c2ln",
    "DB_PASSWORD=${DB_PASSWORD:?must be set}",
    "API_KEY=<insert your API key>",
    "api_key = os.environ.get(\"API_KEY\")",
    "password = getpass.getpass()",
    "SECRET_KEY = env('DJANGO_SECRET_KEY')",
    "token: {{ .Values.token }}",
    "password: \"{{ lookup('env', 'DB_PASS') }}\"",
    "client_secret: ${{ secrets.CLIENT_SECRET }}",
    "OPENAI_API_KEY=sk-your-key-here",
    "ANTHROPIC_API_KEY=sk-ant-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "SLACK_BOT_TOKEN=xoxb-xxxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx",
    "webhook: https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
    "STRIPE_SECRET_KEY=sk_live_...",
    "password: '********'",
    "api_key: '•••••••••••••••••'",
    "token = 'REDACTED'",
    "password=changeit",
    "secret: please-change-me",
    "API_TOKEN=your_api_token_here",
    "api_key = 'abcdef1234567890'",
    "secret = '1234567890123456'",
    "token = 'qwertyuiopasdfgh'",
    "password = 'aaaaaaaaaaaa'",
    "key_name: prod-signing-key",
    "api_key_id: 3",
    "token_lifetime_seconds: 3600",
    "password_policy: min 12 chars, 1 digit",
    "max_tokens=2048, stop=['\\n\\n']",
    "Input was 1,532 tokens and the output 412 tokens.",
    "Tokenizers split text into tokens; GPT-4 uses cl100k_base.",
    "The API key is passed in the X-API-Key header.",
    "Store the secret in AWS Secrets Manager, never in code.",
    "Your password is too weak.",
    "The token was rejected because it expired.",
    "What's the difference between an access token and a refresh token?",
    "How do I rotate my AWS access keys safely?",
    "Explain how JWT signatures are verified.",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl dev@laptop",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQk6Ah0xG5dpL1F7i2c3d4e5f6g7h8i9j0kLMAoGCCqGSM49\n"
    "-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXH3tA8v1e2Q9mG6rLk0s1F9w3b2c\n"
    "-----END PUBLIC KEY-----",
    "The file must start with -----BEGIN OPENSSH PRIVATE KEY----- to be accepted.",
    "-----BEGIN RSA PRIVATE KEY-----\n<redacted>\n-----END RSA PRIVATE KEY-----",
    "postgres://localhost:5432/app",
    "https://api.example.com:8443/v2/items?page=3&sort=asc",
    "postgresql://user:pass@localhost/db",
    "redis://default:${REDIS_PASSWORD}@redis:6379",
    "mailto:support@example.com",
    "git@gitlab.com:group/project.git",
    "ARN arn:aws:s3:::my-bucket/path/to/object.txt",
    "Account 210987654321, region ap-south-1, bucket logs-prod",
    "AKIA is the prefix of long-term access key ids; ASIA marks temporary ones.",
    "ASIAPACIFICREGIONALHQ opened in March.",
    "Tracking number 1Z 999 AA1 01 2345 6784, order 2024-000153.",
    "Invoice INV-2024-00042 totals $1,299.00 due 2024-07-31.",
    "Build 20240611.3 of version 4.2.0-rc.1 passed.",
    "The sk- prefix is shared by several providers.",
    "xoxo gossip girl",
    "ghp_ and github_pat_ prefixes identify GitHub tokens.",
    "disk-usage-report-2024-06-11-final-v2",
    "Use `--password-stdin` so the password never appears in shell history.",
    "--api-key-file /etc/app/key.txt",
    "docker login -u ci --password-stdin < token.txt",
    "secret_santa: true",
    "public_key: MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
    "keyboard_layout: dvorak",
    "primary_key: order_id",
    "foreign key (customer_id) references customers(id)",
    "cache_key: 'session:{user_id}:v3'",
    "token_type: 'Bearer'",
    "auth_scheme: Basic",
    "Authorization: Bearer {access_token}",
    "Authorization: Basic {credentials}",
    "credentials_path: /var/run/secrets/kubernetes.io/serviceaccount/token",
    "secret_ref: projects/acme/secrets/db-password/versions/latest",
    "password_hash: $argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "The passcode for the wifi is on the fridge.",
    "Kennwort vergessen? Klicken Sie auf den Link.",
    "¿Olvidaste tu contraseña? Restablécela aquí.",
    "Le mot de passe doit contenir 12 caractères.",
    "The key insight is that caching dominates latency.",
    "Secret: the sauce is mostly butter.",
    "bearer_only: true",
    "auth: { type: oauth2, flow: clientCredentials }",
    "credentials: include",
    "integrity: sha512-7Q1lwf3Dn2Uq4yFbdFTK2hxw2xY5xM1lXFQaRQmNyWqx0UShpIxM1s0RZ4sMcd6cPvsHPjpvB3LcfvNQy"
    "CdXvA==",
    "image: nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
    "version: 3.1.4\nname: demo\ndescription: A demo chart",
    "user_id: 8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
    "session_id=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
    "request_signature_algorithm: HMAC-SHA256",
    "The governance token 0x6b175474e89094c44da98b954eedeac495271d0f trades at $1.00.",
    "Our author 2019 anthology sold out.",
    "passenger 42B boarded at gate 7",
    "The monkey grabbed 12 bananas and a keyboard.",
    "<add key=\"Environment\" value=\"Production\" />",
    "<property name=\"timeout\" value=\"30000\"/>",
    "ENV['RAILS_ENV'] = 'production'",
    "token limit reached: 128000/128000",
    "key 42 was pressed",
    "Passwort vergessen? Neues Passwort anfordern.",
    "The access token lifetime is 3600s by default.",
    "secret sauce v2 recipe",
    "password reset code sent to +1 555 0100",
    "Please rotate the API key in 30 days.",
    "git commit -m 'fix: redact token in logs (#482)'",
    "JIRA-4821: remove hard-coded password from config",
    "set password_encryption = 'scram-sha-256';",
    "bcrypt cost factor 12, salt rounds 10",
    "api_key_rotation_days: 90",
    "token_ttl: 15m",
    "x-api-key: required",
    "Authorization header format: Bearer <JWT>",
    "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com",
    "curl -u \"$USER:$PASS\" https://api.example.com",
    "export GITHUB_TOKEN=$(gh auth token)",
    "aws sts get-session-token --duration-seconds 3600",
    "The RSA key size is 4096 bits.",
    "AES-256-GCM with a 96-bit nonce",
    "HMAC-SHA256(key, message)",
    "Base64 of 'user:pass' is dXNlcjpwYXNz",
    "Your verification code is 839201. It expires in 10 minutes.",
    "Order ID: 7f3a9c2e-41b8-4d5e-9a6f-2c8b1e0d4f7a",
    "Wallet 0x71C7656EC7ab88b098defB751B7401B5f6d8976F received 0.5 ETH",
    "IPFS CID bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    "Magnet link hash 08ada5a7a6183aae1e09d831df6748d566095a10",
    "Docker image id 4e38e38c8ce0",
    "The file is 3f4a.tmp in /tmp",
    "docker run --rm -u 1000:1000 -p 8443:443 -v /srv:/srv app:2.4",
    "ssh -p 2201 -i ~/.ssh/id_ed25519 ops@bastion",
    "mkdir -p build/2024-06-11 && cd build",
    "curl -u \"$API_USER:$API_TOKEN\" -X POST https://api.example.com",
)


def _token_samples(g: _Gen) -> list[tuple[str, frozenset[str]]]:
    makers: tuple[tuple[str, Callable[[], str], tuple[str, ...]], ...] = (
        (AWS, g.aws_id, ("AWS_ACCESS_KEY_ID", "aws_access_key_id", "AccessKeyId")),
        (GITHUB, g.github, ("GITHUB_TOKEN", "GH_TOKEN", "github_pat")),
        (OPENAI, g.openai, ("OPENAI_API_KEY", "openai_key", "OPENAI_KEY")),
        (ANTHROPIC, g.anthropic, ("ANTHROPIC_API_KEY", "anthropic_key", "CLAUDE_KEY")),
        (SLACK, g.slack, ("SLACK_BOT_TOKEN", "SLACK_TOKEN", "SLACK_WEBHOOK")),
        (STRIPE, g.stripe, ("STRIPE_SECRET_KEY", "STRIPE_KEY", "stripe_api_key")),
        (JWT, g.jwt, ("ACCESS_TOKEN", "id_token", "JWT")),
    )
    out: list[tuple[str, frozenset[str]]] = []
    for ftype, make, names in makers:
        for carrier in TOKEN_CARRIERS:
            for _ in range(2):
                out.append((carrier.format(n=g.r.choice(names), v=make()), frozenset({ftype})))
    for _ in range(30):  # AWS secret access keys live next to their key id
        kid, sec = g.aws_id(), g.aws_secret()
        carrier = g.r.choice((
            "[default]\naws_access_key_id = {i}\naws_secret_access_key = {s}\n",
            "AWS_ACCESS_KEY_ID={i}\nAWS_SECRET_ACCESS_KEY={s}",
            "boto3.client('s3', aws_access_key_id='{i}', aws_secret_access_key='{s}')",
            "{{\"Credentials\": {{\"AccessKeyId\": \"{i}\", \"SecretAccessKey\": \"{s}\"}}}}",
        ))
        out.append((carrier.format(i=kid, s=sec), frozenset({AWS})))
    for _ in range(40):
        escaped = g.r.random() < 0.3
        block = g.pem(escaped)
        carrier = g.r.choice((
            "{b}",
            "Can you tell me why this key is rejected?\n\n{b}\n",
            "\"private_key\": \"{b}\\n\",",
            "ssh_key: |\n  {b}",
            "```\n{b}\n```",
        ))
        if escaped and not carrier.startswith("\"private_key\""):
            carrier = "\"private_key\": \"{b}\\n\","
        out.append((carrier.format(b=block), frozenset({PRIVATE_KEY})))
    return out


def _generic_samples(g: _Gen) -> list[tuple[str, frozenset[str]]]:
    out: list[tuple[str, frozenset[str]]] = []
    for carrier in ASSIGN_CARRIERS:
        for _ in range(4):
            out.append((carrier.format(k=g.r.choice(PASSWORD_NAMES), v=g.password()), frozenset({GENERIC})))
            out.append((carrier.format(k=g.r.choice(TOKEN_NAMES), v=g.api_token()), frozenset({GENERIC})))
    for carrier in URL_CARRIERS:
        for _ in range(4):
            user = g.r.choice(["app", "admin", "svc_reader", "deploy", "root", "etl"])
            password = g.password().replace("%", "x").replace("+", "z")
            out.append((carrier.format(u=user, p=password), frozenset({GENERIC})))
    return out


def load() -> list[tuple[str, frozenset[str]]]:
    """Labelled samples (text, expected secret types), deterministic for a given code version."""
    g = _Gen(seed=20240611)
    samples = _token_samples(g) + _generic_samples(g)
    samples.extend((text, frozenset()) for text in BENIGN)
    return samples


def main() -> None:
    from proctor.detect.secrets import SecretsDetector

    detector = SecretsDetector()
    data = load()
    tp = dict.fromkeys(TYPES, 0)
    fp = dict.fromkeys(TYPES, 0)
    fn = dict.fromkeys(TYPES, 0)
    examples: list[str] = []
    for text, labels in data:
        got = {f.type for f in detector.detect(text)}
        for t in TYPES:
            if t in got and t in labels:
                tp[t] += 1
            elif t in got:
                fp[t] += 1
                examples.append(f"  {t} false positive: {text[:140]!r}")
            elif t in labels:
                fn[t] += 1
                examples.append(f"  {t} miss: {text[:140]!r}")
    n_benign = sum(1 for _, labels in data if not labels)
    print(f"samples: {len(data)} ({len(data) - n_benign} with a secret, {n_benign} benign)")
    for t in TYPES:
        p = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 1.0
        r = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 1.0
        print(f"{t:22s} precision {p:.3f}  recall {r:.3f}  (tp {tp[t]}, fp {fp[t]}, fn {fn[t]})")
    for line in examples[: int(os.environ.get("SHOW", "20"))]:
        print(line)


if __name__ == "__main__":
    main()
