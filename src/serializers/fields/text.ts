/**
 * String fields (DRF 3.15 `CharField` and its family): Char, Email, Regex, Slug, URL, IPAddress, with
 * Django's validators (EmailValidator, URLValidator, validate_slug, validate_ipv46_address) ported.
 */
import { isIP } from 'node:net';
import { Field, FieldError, type FieldOptions } from './base.js';

export interface CharFieldOptions extends FieldOptions {
  maxLength?: number;
  minLength?: number;
  /** `""` (or only whitespace, when trimmed) is accepted. */
  allowBlank?: boolean;
  /** Strip leading and trailing whitespace (default true). */
  trimWhitespace?: boolean;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** DRF's CharField: strings (numbers are accepted and turned into strings, as DRF does). */
export class CharField<const O extends CharFieldOptions = CharFieldOptions> extends Field<string, O> {
  readonly maxLength: number | undefined;
  readonly minLength: number | undefined;
  readonly allowBlank: boolean;
  readonly trimWhitespace: boolean;

  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Not a valid string.',
    blank: 'This field may not be blank.',
    max_length: 'Ensure this field has no more than {max_length} characters.',
    min_length: 'Ensure this field has at least {min_length} characters.',
  };

  constructor(options: O = {} as O) {
    super(options);
    this.maxLength = options.maxLength;
    this.minLength = options.minLength;
    this.allowBlank = options.allowBlank ?? false;
    this.trimWhitespace = options.trimWhitespace ?? true;
  }

  override toRepresentation(value: unknown): unknown {
    return typeof value === 'string' ? value : String(value);
  }

  override toInternal(value: unknown): unknown {
    if (typeof value === 'boolean' || (typeof value !== 'string' && typeof value !== 'number')) this.fail('invalid');
    // A lone surrogate has no UTF-8 form: SQLite and PostgreSQL would each store their own mangling of
    // it, so it becomes U+FFFD here and every database keeps the same text.
    let text = String(value).replace(LONE_SURROGATE, '\ufffd');
    if (this.trimWhitespace) text = text.trim();
    // DRF tests blankness before anything else, and a blank value gets no other check.
    if (text === '') {
      if (!this.allowBlank) this.fail('blank');
      return text;
    }
    const errors = this.textErrors(text);
    if (errors.length) throw new FieldError(errors);
    return text;
  }

  /** The messages of DRF's validators for a non-blank string, in DRF's order (lengths, NUL, then the subclass's pattern). */
  protected textErrors(text: string): string[] {
    const errors: string[] = [];
    const length = this.maxLength !== undefined || this.minLength !== undefined ? [...text].length : 0;
    if (this.maxLength !== undefined && length > this.maxLength) errors.push(this.message('max_length', { max_length: this.maxLength }));
    if (this.minLength !== undefined && length < this.minLength) errors.push(this.message('min_length', { min_length: this.minLength }));
    // DRF's ProhibitNullCharactersValidator: PostgreSQL text cannot hold NUL, so refuse it everywhere.
    if (text.includes('\u0000')) errors.push('Null characters are not allowed.');
    return errors;
  }
}

// Django's EmailValidator (5.x): a dot-atom or quoted local part, a domain of labels or a literal address.
const EMAIL_USER =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Django's quoted local part allows these characters
  /^(?:[-!#$%&'*+/=?^_`{}|~0-9a-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*|"(?:[\u0001-\u0008\u000b\u000c\u000e-\u001f!#-[\]-\u007f]|\\[\u0001-\u0011\u000b\u000c\u000e-\u007f])*")$/i;
const EMAIL_DOMAIN =
  /^(?:(?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?\.)+)(?:[a-z0-9\u00a1-\uffff-]{2,63})$/i;
const EMAIL_LITERAL = /^\[([a-f0-9:.]+)\]$/i;

function isEmail(text: string): boolean {
  if (text.length > 320 || !text.includes('@')) return false;
  const at = text.lastIndexOf('@');
  const user = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (!EMAIL_USER.test(user)) return false;
  if (domain === 'localhost') return true;
  if (EMAIL_DOMAIN.test(domain) && !domain.endsWith('-')) return true;
  const literal = EMAIL_LITERAL.exec(domain);
  return Boolean(literal && isIP(literal[1] as string));
}

/** A CharField whose subclass adds one pattern check with its own `invalid` message. */
abstract class PatternField<const O extends CharFieldOptions> extends CharField<O> {
  protected abstract matches(text: string): boolean;
  protected override textErrors(text: string): string[] {
    const errors = super.textErrors(text);
    if (!this.matches(text)) errors.push(this.message('invalid'));
    return errors;
  }
}

/** DRF's EmailField (Django's EmailValidator). */
export class EmailField<const O extends CharFieldOptions = CharFieldOptions> extends PatternField<O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'Enter a valid email address.' };
  protected matches(text: string): boolean {
    return isEmail(text);
  }
}

export interface RegexFieldOptions extends CharFieldOptions {
  /** The pattern the whole value must match from its start (Python's `re.search` with the pattern as given). */
  regex: RegExp | string;
}

/** DRF's RegexField: `RegexValidator(regex)` (a search: anchor the pattern to match the whole value). */
export class RegexField<const O extends RegexFieldOptions = RegexFieldOptions> extends PatternField<O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'This value does not match the required pattern.' };
  readonly regex: RegExp;
  constructor(options: O) {
    super(options);
    this.regex = typeof options.regex === 'string' ? new RegExp(options.regex, 'u') : options.regex;
  }
  protected matches(text: string): boolean {
    this.regex.lastIndex = 0;
    return this.regex.test(text);
  }
}

export interface SlugFieldOptions extends CharFieldOptions {
  /** Letters and digits of any script (DRF's `allow_unicode`). */
  allowUnicode?: boolean;
}

const SLUG = /^[-a-zA-Z0-9_]+$/;
const UNICODE_SLUG = /^[-\p{L}\p{N}_]+$/u;

/** DRF's SlugField: letters, numbers, underscores and hyphens. */
export class SlugField<const O extends SlugFieldOptions = SlugFieldOptions> extends PatternField<O> {
  static override defaultErrorMessages: Record<string, string> = {
    invalid: 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.',
    invalid_unicode: 'Enter a valid "slug" consisting of Unicode letters, numbers, underscores, or hyphens.',
  };
  protected matches(text: string): boolean {
    return (this.options.allowUnicode ? UNICODE_SLUG : SLUG).test(text);
  }
  protected override textErrors(text: string): string[] {
    const errors = super.textErrors(text);
    if (this.options.allowUnicode && errors.at(-1) === this.message('invalid')) errors[errors.length - 1] = this.message('invalid_unicode');
    return errors;
  }
}

// Django's URLValidator (5.x), host part: an IPv4 or bracketed IPv6 address, a domain name, or localhost.
const UL = '\u00a1-\uffff';
const IPV4 = '(?:0|25[0-5]|2[0-4][0-9]|1[0-9]?[0-9]?|[1-9][0-9]?)(?:\\.(?:0|25[0-5]|2[0-4][0-9]|1[0-9]?[0-9]?|[1-9][0-9]?)){3}';
const IPV6 = '\\[[0-9a-f:.]+\\]';
const HOSTNAME = `[a-z${UL}0-9](?:[a-z${UL}0-9-]{0,61}[a-z${UL}0-9])?`;
const DOMAIN = `(?:\\.(?!-)[a-z${UL}0-9-]{1,63}(?<!-))*`;
const TLD = `\\.(?!-)(?:[a-z${UL}-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)\\.?`;
const URL_PATTERN = new RegExp(
  `^(?:[a-z0-9.+-]*)://(?:[^\\s:@/]+(?::[^\\s:@/]*)?@)?(?:${IPV4}|${IPV6}|(?:${HOSTNAME}${DOMAIN}${TLD}|localhost))(?::[0-9]{1,5})?(?:[/?#][^\\s]*)?$`,
  'i',
);
const URL_SCHEMES = ['http', 'https', 'ftp', 'ftps'];

function isUrl(text: string): boolean {
  if (text.length > 2048 || /[\t\r\n]/.test(text)) return false;
  const scheme = text.split('://')[0]?.toLowerCase() ?? '';
  if (!URL_SCHEMES.includes(scheme) || !URL_PATTERN.test(text)) return false;
  const host = /^[^:]+:\/\/(?:[^\s:@/]+(?::[^\s:@/]*)?@)?(\[[^\]]+\]|[^:/?#]+)/.exec(text)?.[1] ?? '';
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6;
  return host.length <= 253;
}

/** DRF's URLField (Django's URLValidator: http, https, ftp and ftps). */
export class URLField<const O extends CharFieldOptions = CharFieldOptions> extends PatternField<O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'Enter a valid URL.' };
  protected matches(text: string): boolean {
    return isUrl(text);
  }
}

export interface IPAddressFieldOptions extends CharFieldOptions {
  /** `both` (default), `IPv4` or `IPv6`. */
  protocol?: 'both' | 'IPv4' | 'IPv6' | 'ipv4' | 'ipv6';
}

/** DRF's IPAddressField: IPv4 or IPv6; IPv6 comes out in Django's compressed form (and `::ffff:a.b.c.d` unpacked when both are allowed). */
export class IPAddressField<const O extends IPAddressFieldOptions = IPAddressFieldOptions> extends CharField<O> {
  static override defaultErrorMessages: Record<string, string> = { invalid: 'Enter a valid IPv4 or IPv6 address.' };
  private readonly protocol: 'both' | 'ipv4' | 'ipv6';

  constructor(options: O = {} as O) {
    super(options);
    this.protocol = (options.protocol ?? 'both').toLowerCase() as 'both' | 'ipv4' | 'ipv6';
  }

  override toInternal(value: unknown): unknown {
    if (typeof value !== 'string') this.fail('invalid');
    const text = super.toInternal(value) as string;
    if (text === '') return text;
    const version = isIP(text);
    if ((version === 4 && this.protocol !== 'ipv6') || (version === 6 && this.protocol !== 'ipv4')) {
      return version === 6 ? cleanIpv6(text, this.protocol === 'both') : text;
    }
    throw new FieldError([
      this.protocol === 'both' ? this.message('invalid') : `Enter a valid ${this.protocol === 'ipv4' ? 'IPv4' : 'IPv6'} address.`,
    ]);
  }
}

/** Django's `clean_ipv6_address`: the compressed lower-case form; `::ffff:1.2.3.4` becomes `1.2.3.4` when unpacking. */
function cleanIpv6(text: string, unpack: boolean): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped && unpack) return mapped[1] as string;
  const url = new URL(`http://[${text}]/`);
  return url.hostname.slice(1, -1);
}
