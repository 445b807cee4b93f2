// The journeys, walked by a TypeScript client generated from /v1/openapi.json
// (openapi-typescript types + openapi-fetch calls), as a mobile or web team would.
// tests/test_generated_clients.py generates ./generated/schema.d.ts, type-checks this
// file with tsc --strict and runs it against the local stack. Every branch is on a typed
// answer: the status, the flow's state, the error's code and details.
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Flow = components["schemas"]["Flow"];
type ApiError = components["schemas"]["Error"];
type Created = components["schemas"]["RegistrationResponseJSON"];
type Asserted = components["schemas"]["AuthenticationResponseJSON"];

const API = process.env.SANDI_API!;
const INBOX = process.env.SANDI_INBOX!;
const who = JSON.parse(process.env.SANDI_WHO!) as Record<string, string>;
const client = createClient<paths>({ baseUrl: API });

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error("journey broke: " + what);
}

async function code(to: string, channel: "email" | "sms"): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const inbox = (await (await fetch(`${INBOX}/api/messages`)).json()) as { messages: { to: string; channel: string; body: string }[] };
    // newest first; a security notice is not a code
    const message = inbox.messages.find((m) => m.to === to && m.channel === channel && /^\d{6}\b/.test(m.body.trim()));
    if (message) return message.body.trim().slice(0, 6);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${channel} for ${to}`);
}

function bearer(token: string) {
  return { headers: { Authorization: `Bearer ${token}` } };
}

// --- registration ----------------------------------------------------------------------
async function register(): Promise<string> {
  const started = await client.POST("/v1/registrations", { body: { email: who.email! } });
  check(started.data && started.response.status === 201, "registration start");
  const flow: Flow = started.data;
  check(flow.state === "email_verification" && flow.challenge?.channel === "email", "an email challenge");
  const wrong = await client.POST("/v1/registrations/{flow_id}/email/verify", {
    params: { path: { flow_id: flow.flow_id } },
    body: { code: "000000" },
  });
  const error: ApiError | undefined = wrong.error;
  check(error?.error.code === "invalid_code" && error.error.details?.attempts_remaining === 4, "a typed wrong code");
  const id = { params: { path: { flow_id: flow.flow_id } } };
  await client.POST("/v1/registrations/{flow_id}/email/verify", { ...id, body: { code: await code(who.email!, "email") } });
  const profile = await client.PUT("/v1/registrations/{flow_id}/profile", {
    ...id,
    body: {
      membership_type: "PU",
      full_name: who.full_name!,
      birth_date: who.birth_date!,
      nik: who.nik!,
      kpj: who.kpj!,
    },
  });
  check(profile.data?.state === "phone", "profile");
  await client.POST("/v1/registrations/{flow_id}/phone", { ...id, body: { phone: who.phone! } });
  const phone = await client.POST("/v1/registrations/{flow_id}/phone/verify", {
    ...id,
    body: { code: await code(who.phone_e164!, "sms") },
  });
  check(phone.data?.state === "password", "phone verified");
  const breached = await client.POST("/v1/registrations/{flow_id}/complete", {
    ...id,
    body: { password: "password123", password_confirmation: "password123" },
  });
  check(breached.error?.error.details?.fields?.["password"]?.includes("breached"), "a breached password is named");
  const done = await client.POST("/v1/registrations/{flow_id}/complete", {
    ...id,
    body: { password: who.password!, password_confirmation: who.password! },
  });
  check(done.data?.session.token_type === "Bearer", "registered and signed in");
  return done.data.session.access_token;
}

// --- the authenticator: sign-in answers 202 with a flow ------------------------------------
function totp(secret: string, at: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

async function secondFactor(token: string): Promise<void> {
  const enrol = await client.POST("/v1/me/authenticator", { ...bearer(token), body: { password: who.password! } });
  check(enrol.data, "enrolment");
  const secret = enrol.data.secret;
  const now = Date.now() / 1000;
  const confirmed = await client.POST("/v1/me/authenticator/verify", { ...bearer(token), body: { code: totp(secret, now) } });
  check(confirmed.data?.recovery_codes.length === 10, "ten recovery codes");
  const first = await client.POST("/v1/sessions", { body: { login: who.email!, password: who.password! } });
  check(first.response.status === 202 && first.data && "flow_id" in first.data, "a 202 flow");
  const flow = first.data as Flow;
  check(flow.type === "sign_in" && flow.state === "second_factor", "the second step");
  const session = await client.POST("/v1/sessions/{flow_id}/verify", {
    params: { path: { flow_id: flow.flow_id } },
    body: { code: totp(secret, now + 30) },
  });
  check(session.response.status === 201 && session.data && "access_token" in session.data, "a session");
  const reset = await client.POST("/v1/pin-resets", {
    body: { full_name: who.full_name!, nik: who.nik!, birth_date: who.birth_date! },
  });
  const channels = reset.data?.channels ?? [];
  check(channels.some((c) => c.channel === "authenticator" && c.destination === undefined), "the authenticator channel");
  const off = await client.DELETE("/v1/me/authenticator", {
    ...bearer(session.data.access_token),
    body: { password: who.password!, code: confirmed.data.recovery_codes[0]! },
  });
  check(off.response.status === 204, "authenticator off");
}

// --- forgot password, forgot PIN by email and by SMS -------------------------------------------
async function forgotPassword(): Promise<void> {
  const reset = await client.POST("/v1/password-resets", { body: { email: who.email! } });
  check(reset.response.status === 202 && reset.data, "reset start");
  const id = { params: { path: { flow_id: reset.data.flow_id } } };
  const verified = await client.POST("/v1/password-resets/{flow_id}/verify", { ...id, body: { code: await code(who.email!, "email") } });
  check(verified.data?.state === "new_password", "reset verified");
  who.password = "teh manis hangat di sore hari";
  const done = await client.POST("/v1/password-resets/{flow_id}/complete", {
    ...id,
    body: { password: who.password, password_confirmation: who.password },
  });
  check(done.data?.state === "completed", "reset complete");
}

async function forgotPin(channel: "email" | "sms", pin: string): Promise<void> {
  const identity = { full_name: who.full_name!, nik: who.nik!, birth_date: who.birth_date! };
  const reset = await client.POST("/v1/pin-resets", { body: identity });
  check(reset.data?.state === "choose_channel", "identity matched");
  const id = { params: { path: { flow_id: reset.data.flow_id } } };
  const sent = await client.POST("/v1/pin-resets/{flow_id}/send", { ...id, body: { channel } });
  check(sent.data?.challenge?.channel === channel, "sent");
  const again = await client.POST("/v1/pin-resets/{flow_id}/send", { ...id, body: { channel } });
  check(again.response.status === 429 && again.error?.error.code === "resend_too_soon", "resend waits");
  check(Number(again.response.headers.get("Retry-After")) > 0, "Retry-After");
  const to = channel === "email" ? who.email! : who.phone_e164!;
  await client.POST("/v1/pin-resets/{flow_id}/verify", { ...id, body: { code: await code(to, channel) } });
  const done = await client.POST("/v1/pin-resets/{flow_id}/complete", { ...id, body: { pin, pin_confirmation: pin } });
  check(done.data?.state === "completed", "new PIN");
  const signed = await client.POST("/v1/sessions", { body: { login: who.kpj!, pin } });
  check(signed.response.status === 201, "PIN sign-in");
}

// --- a passkey (a software authenticator: ES256, attestation none) ---------------------------
const b64 = (data: Buffer) => data.toString("base64url");

function cbor(value: unknown): Buffer {
  const head = (major: number, n: number) =>
    n < 24 ? Buffer.from([(major << 5) | n]) : n < 256 ? Buffer.from([(major << 5) | 24, n]) : Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value] as Uint8Array[]);
  if (typeof value === "string") return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (value instanceof Map) {
    const parts: Uint8Array[] = [head(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return Buffer.concat(parts);
  }
  throw new Error("cbor: unsupported");
}

class Phone {
  key?: KeyObject;
  id = randomBytes(32);
  user = Buffer.alloc(0);
  counter = 0;
  constructor(readonly origin: string) {}

  create(options: { challenge: string; user: { id: string }; rp: { id?: string } }): Created {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.key = pair.privateKey;
    this.user = Buffer.from(options.user.id, "base64url");
    const jwk = pair.publicKey.export({ format: "jwk" });
    const cose = cbor(new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, "base64url")], [-3, Buffer.from(jwk.y!, "base64url")]]));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(this.id.length);
    const authData = Buffer.concat([
      createHash("sha256").update(options.rp.id ?? "localhost").digest(),
      Buffer.from([0x01 | 0x04 | 0x08 | 0x10 | 0x40]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      length,
      this.id,
      cose,
    ]);
    const clientData = Buffer.from(JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin: this.origin }));
    const attestation = cbor(new Map<string, unknown>([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
    return {
      id: b64(this.id),
      rawId: b64(this.id),
      type: "public-key",
      response: { clientDataJSON: b64(clientData), attestationObject: b64(attestation) },
    };
  }

  get(options: { challenge: string; rpId?: string }): Asserted {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++this.counter);
    const authData = Buffer.concat([createHash("sha256").update(options.rpId ?? "localhost").digest(), Buffer.from([0x01 | 0x04 | 0x08 | 0x10]), counter]);
    const clientData = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: options.challenge, origin: this.origin }));
    const signature = sign("sha256", Buffer.concat([authData, createHash("sha256").update(clientData).digest()]), this.key!);
    return {
      id: b64(this.id),
      rawId: b64(this.id),
      type: "public-key",
      response: { clientDataJSON: b64(clientData), authenticatorData: b64(authData), signature: b64(signature), userHandle: b64(this.user) },
    };
  }
}

async function passkey(token: string): Promise<void> {
  const phone = new Phone(API.replace("127.0.0.1", "localhost"));
  const options = await client.POST("/v1/me/passkeys/options", { ...bearer(token), body: { password: who.password! } });
  check(options.data, "creation options");
  const created = phone.create(options.data.options as { challenge: string; user: { id: string }; rp: { id?: string } });
  const added = await client.POST("/v1/me/passkeys", { ...bearer(token), body: { flow_id: options.data.flow_id, credential: created } });
  check(added.response.status === 201 && added.data?.device_type === "multi_device", "passkey added");
  const start = await client.POST("/v1/sessions/passkey/options", { body: {} });
  check(start.data, "request options");
  const assertion = phone.get(start.data.options as { challenge: string; rpId?: string });
  const session = await client.POST("/v1/sessions/passkey", { body: { flow_id: start.data.flow_id, credential: assertion } });
  check(session.response.status === 201 && session.data?.token_type === "Bearer", "passkey sign-in");
  const replay = await client.POST("/v1/sessions/passkey", { body: { flow_id: start.data.flow_id, credential: assertion } });
  check(replay.error?.error.code === "flow_expired", "a flow works once");
}

async function main(): Promise<void> {
  const token = await register();
  const signed = await client.POST("/v1/sessions", { body: { login: who.email!, password: who.password! } });
  check(signed.response.status === 201, "password sign-in");
  await passkey(token);
  await secondFactor(token);
  await forgotPassword();
  await forgotPin("email", "480273");
  await forgotPin("sms", "305817");
  console.log("all journeys walked");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
