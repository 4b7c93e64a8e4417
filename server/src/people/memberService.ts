import { randomBytes } from 'node:crypto';
import { MAX_PASSWORD_LENGTH, MEMBER_NAME_PATTERN, MEMBER_ROLES, MIN_PASSWORD_LENGTH, type MemberRole } from '@lilac/common';
import { generateToken, hashToken } from '../builders/tokens.ts';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { Models } from '../store/models.ts';
import { hashPassword, passwordMatches } from './passwords.ts';
import { DomainError } from '../domainError.ts';

export type MemberErrorKind = 'invalid' | 'not-found' | 'conflict';

export class MemberError extends DomainError<MemberErrorKind> {
  override name = 'MemberError';
}

export interface Member {
  readonly name: string;
  readonly role: MemberRole;
  readonly hasPassword: boolean;
}

export interface MemberListing extends Member {
  readonly revoked: boolean;
  readonly createdAt: Date;
}

export interface Session {
  readonly member: Member;
  readonly csrfToken: string;
}

/** A browser session lasts this long from sign-in; signing in again starts a new one. */
export const SESSION_LIFETIME_MS = 14 * 24 * 3600_000;

function assertRole(role: string): asserts role is MemberRole {
  if (!(MEMBER_ROLES as readonly string[]).includes(role)) throw new MemberError('invalid', `role must be one of ${MEMBER_ROLES.join(', ')}`);
}

function memberOf(record: { name: string; role: string; passwordHash?: string | null }): Member {
  return { name: record.name, role: record.role as MemberRole, hasPassword: Boolean(record.passwordHash) };
}

/** People: created and managed by an operator (admin CLI), signed in by token, password or session. */
export class MemberService {
  constructor(private readonly models: Models) {}

  /** Creates a member and its first token, which is returned once and never stored. */
  async create(name: string, role: string): Promise<{ token: string }> {
    if (!MEMBER_NAME_PATTERN.test(name)) throw new MemberError('invalid', `member name must match ${MEMBER_NAME_PATTERN.source}`);
    assertRole(role);
    try {
      await this.models.Member.create({ name, role });
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new MemberError('conflict', `member ${name} already exists`);
      throw error;
    }
    return { token: await this.issueToken(name) };
  }

  async issueToken(name: string): Promise<string> {
    await this.activeRecord(name);
    const token = generateToken();
    await this.models.MemberToken.create({ hash: hashToken(token), member: name });
    return token;
  }

  async list(): Promise<MemberListing[]> {
    const records = await this.models.Member.find().sort({ name: 1 }).lean();
    return records.map((record) => ({ ...memberOf(record), revoked: record.revokedAt !== null, createdAt: record.createdAt }));
  }

  async setRole(name: string, role: string): Promise<void> {
    assertRole(role);
    await this.activeRecord(name);
    await this.models.Member.updateOne({ name }, { $set: { role } });
  }

  /** The member can no longer sign in: its tokens and sessions go; its name stays on what it wrote. */
  async revoke(name: string): Promise<void> {
    await this.activeRecord(name);
    await this.models.Member.updateOne({ name }, { $set: { revokedAt: new Date() } });
    await this.models.MemberToken.deleteMany({ member: name });
    await this.models.Session.deleteMany({ member: name });
  }

  async exists(name: string): Promise<boolean> {
    return (await this.models.Member.exists({ name, revokedAt: null })) !== null;
  }

  /** The member a bearer token belongs to, or null (a builder's token included: it never acts as a person). */
  async authenticateToken(token: string): Promise<Member | null> {
    const record = await this.models.MemberToken.findOne({ hash: hashToken(token) }).lean();
    return record ? this.activeMember(record.member) : null;
  }

  async authenticatePassword(name: string, password: string): Promise<Member | null> {
    if (!MEMBER_NAME_PATTERN.test(name) || password.length > MAX_PASSWORD_LENGTH) return null;
    const record = await this.models.Member.findOne({ name, revokedAt: null }).lean();
    if (!record?.passwordHash) return null;
    return (await passwordMatches(password, record.passwordHash)) ? memberOf(record) : null;
  }

  async setPassword(name: string, password: string): Promise<void> {
    if (password.length < MIN_PASSWORD_LENGTH) throw new MemberError('invalid', `password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    if (password.length > MAX_PASSWORD_LENGTH) throw new MemberError('invalid', `password must have at most ${MAX_PASSWORD_LENGTH} characters`);
    await this.models.Member.updateOne({ name, revokedAt: null }, { $set: { passwordHash: await hashPassword(password) } });
  }

  /** Starts a session; the id goes in the cookie and is returned once, only its hash is stored. */
  async startSession(member: Member, now = new Date()): Promise<{ id: string; session: Session; expiresAt: Date }> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS);
    await this.models.Session.create({ hash: hashToken(id), member: member.name, csrfToken, expiresAt });
    return { id, session: { member, csrfToken }, expiresAt };
  }

  async session(id: string, now = new Date()): Promise<Session | null> {
    const hash = hashToken(id);
    const record = await this.models.Session.findOne({ hash }).lean();
    if (!record) return null;
    if (record.expiresAt <= now) {
      await this.models.Session.deleteOne({ hash });
      return null;
    }
    const member = await this.activeMember(record.member);
    return member ? { member, csrfToken: record.csrfToken } : null;
  }

  async endSession(id: string): Promise<void> {
    await this.models.Session.deleteOne({ hash: hashToken(id) });
  }

  private async activeMember(name: string): Promise<Member | null> {
    const record = await this.models.Member.findOne({ name, revokedAt: null }).lean();
    return record ? memberOf(record) : null;
  }

  private async activeRecord(name: string) {
    const record = await this.models.Member.findOne({ name }).lean();
    if (!record) throw new MemberError('not-found', `no member named ${JSON.stringify(name)}`);
    if (record.revokedAt) throw new MemberError('conflict', `member ${name} was revoked`);
    return record;
  }
}
