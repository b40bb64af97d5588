/*
 * voxsim: the VoxEngine `PhoneNumber` namespace, `PhoneNumber.getInfo(number, country)`.
 *
 * An extension file of the shim (voxsim/runtime/shim/): it runs after voxengine.js, whose not-emulated default
 * `PhoneNumber` it replaces, and after phone_metadata.js, whose table it takes. getInfo answers synchronously, as
 * on the platform, so it is libphonenumber's parsing and validation (parse, getNumberType, isValidNumber,
 * isValidNumberForRegion, isPossibleNumber) ported to JS over that table; tests/runtime/shim/test_phone_number.py
 * holds it to the phonenumbers package's answers. `location` is the country's English name (libphonenumber's
 * geocoder at country level: empty when the number could be in several countries); the geocoder's city and state
 * names are not in the table.
 */
(function (global) {
  'use strict';

  const SOURCE = global.__voxPhoneMetadata;
  delete global.__voxPhoneMetadata;

  const MIN_LENGTH_FOR_NSN = 2;
  const MAX_LENGTH_FOR_NSN = 17;
  const MAX_LENGTH_COUNTRY_CODE = 3;
  const MAX_INPUT_STRING_LENGTH = 250;
  const NON_GEO = '001';
  // libphonenumber's PhoneNumberType names, in the order it tries them (the generator's TYPES), then the rest.
  const TYPES = ['PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'];
  const FIXED_LINE = 8;
  const MOBILE = 9;

  // Possible-length verdicts of libphonenumber's ValidationResult.
  const IS_POSSIBLE = 0, IS_POSSIBLE_LOCAL_ONLY = 1, TOO_SHORT = 2, TOO_LONG = 3, INVALID_LENGTH = 4;

  class ParseError extends Error {}

  let table = null;
  const compiled = new Map();

  function data() {
    if (table === null) {
      table = JSON.parse(SOURCE);
      table.viableRe = new RegExp('^(?:' + table.viable + ')$', 'iu');
      table.extensionRe = new RegExp(table.extension, 'iu');  // the pattern ends with $
    }
    return table;
  }

  function regex(pattern, how) {
    const key = how + pattern;
    let re = compiled.get(key);
    if (!re) {
      re = new RegExp(how === 'full' ? '^(?:' + pattern + ')$' : '^(?:' + pattern + ')');
      compiled.set(key, re);
    }
    return re;
  }

  // A plan as phone_metadata.js lists it: [countryCode, internationalPrefix, nationalPrefixForParsing,
  // nationalPrefixTransformRule, leadingDigits, sameMobileAndFixedLinePattern, general desc, type descs].
  function plan(entry) {
    if (!entry) return null;
    return {
      countryCode: entry[0], internationalPrefix: entry[1], nationalPrefixForParsing: entry[2],
      transformRule: entry[3], leadingDigits: entry[4], sameMobileAndFixed: entry[5], general: entry[6],
      types: entry[7],
    };
  }

  function metadataForRegion(region) {
    return plan(data().regions[region]);
  }

  function metadataFor(countryCode, region) {
    return region === NON_GEO ? plan(data().nonGeo[String(countryCode)]) : metadataForRegion(region);
  }

  function regionsFor(countryCode) {
    return data().codes[String(countryCode)] || null;
  }

  // ---------------------------------------------------------------- matching

  function matchesPattern(number, desc) {
    return !!desc && !!desc[0] && regex(desc[0], 'full').test(number);
  }

  function matchesDesc(number, desc) {
    if (!desc) return false;
    const lengths = desc[1];
    if (lengths.length > 0 && lengths.indexOf(number.length) < 0) return false;
    return matchesPattern(number, desc);
  }

  function typeOf(number, metadata) {
    if (!matchesDesc(number, metadata.general)) return 'UNKNOWN';
    for (let i = 0; i < TYPES.length; i++) {
      if (matchesDesc(number, metadata.types[i])) return TYPES[i];
    }
    if (matchesDesc(number, metadata.types[FIXED_LINE])) {
      if (metadata.sameMobileAndFixed || matchesDesc(number, metadata.types[MOBILE])) return 'FIXED_LINE_OR_MOBILE';
      return 'FIXED_LINE';
    }
    if (!metadata.sameMobileAndFixed && matchesDesc(number, metadata.types[MOBILE])) return 'MOBILE';
    return 'UNKNOWN';
  }

  function testLength(number, metadata) {
    const possible = metadata.general[1];
    const local = metadata.general[2];
    const length = number.length;
    if (local.indexOf(length) >= 0) return IS_POSSIBLE_LOCAL_ONLY;
    const minimum = possible[0];
    if (minimum === length) return IS_POSSIBLE;
    if (minimum > length) return TOO_SHORT;
    if (possible[possible.length - 1] < length) return TOO_LONG;
    return possible.indexOf(length, 1) >= 0 ? IS_POSSIBLE : INVALID_LENGTH;
  }

  // ---------------------------------------------------------------- normalizing

  const ALPHA = { A: 2, B: 2, C: 2, D: 3, E: 3, F: 3, G: 4, H: 4, I: 4, J: 5, K: 5, L: 5, M: 6, N: 6, O: 6,
    P: 7, Q: 7, R: 7, S: 7, T: 8, U: 8, V: 8, W: 9, X: 9, Y: 9, Z: 9 };
  // The first code point of each run of decimal digits 0-9 that numbers are written in (ASCII, Arabic-Indic,
  // Extended Arabic-Indic, Devanagari, Bengali, Thai, fullwidth...): libphonenumber reads them all as 0-9.
  const DIGIT_ZEROS = [0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0xff10];
  const VALID_ALPHA_PHONE = /^(?:.*?[A-Za-z]){3}.*$/;
  const PLUS_CHARS = /^[+\uFF0B]+/;
  const VALID_START_CHAR = /[+\uFF0B\p{Nd}]/u;
  const UNWANTED_END_CHARS = /[^#\p{L}\p{N}]+$/u;
  const SECOND_NUMBER_START = /[\\/] *x/;
  const RFC3966_PHONE_CONTEXT = ';phone-context=';
  const RFC3966_GLOBAL_NUMBER_DIGITS = /^\+([\p{Nd}]|[-.()]?)*[\p{Nd}]([\p{Nd}]|[-.()]?)*$/u;
  const RFC3966_DOMAINNAME = /^([A-Za-z0-9]+((-)*[A-Za-z0-9])*\.)*[A-Za-z]+((-)*[A-Za-z0-9])*\.?$/;

  function digitOf(ch) {
    const cp = ch.codePointAt(0);
    for (const zero of DIGIT_ZEROS) {
      if (cp >= zero && cp <= zero + 9) return String(cp - zero);
    }
    return '';
  }

  function normalize(number) {
    let out = '';
    if (VALID_ALPHA_PHONE.test(number)) {
      for (const ch of number) {
        const upper = ch.toUpperCase();
        if (ch >= '0' && ch <= '9') out += ch;
        else if (ALPHA[upper] !== undefined) out += ALPHA[upper];
      }
      return out;
    }
    for (const ch of number) out += digitOf(ch);
    return out;
  }

  function extractPossibleNumber(number) {
    const start = number.search(VALID_START_CHAR);
    if (start < 0) return '';
    let out = number.slice(start);
    const end = out.search(UNWANTED_END_CHARS);
    if (end >= 0) out = out.slice(0, end);
    const second = out.search(SECOND_NUMBER_START);
    if (second >= 0) out = out.slice(0, second);
    return out;
  }

  function phoneContextOf(number, index) {
    if (index < 0) return null;
    const start = index + RFC3966_PHONE_CONTEXT.length;
    if (start >= number.length) return '';
    const end = number.indexOf(';', start);
    return end >= 0 ? number.slice(start, end) : number.slice(start);
  }

  function nationalNumberForParsing(number) {
    const index = number.indexOf(RFC3966_PHONE_CONTEXT);
    const context = phoneContextOf(number, index);
    if (context !== null && (context === '' ||
        !(RFC3966_GLOBAL_NUMBER_DIGITS.test(context) || RFC3966_DOMAINNAME.test(context)))) {
      throw new ParseError('NOT_A_NUMBER');
    }
    let national;
    if (context !== null) {
      national = context[0] === '+' ? context : '';
      const tel = number.indexOf('tel:');
      national += number.slice(tel >= 0 ? tel + 4 : 0, index);
    } else {
      national = extractPossibleNumber(number);
    }
    const isub = national.indexOf(';isub=');
    return isub > 0 ? national.slice(0, isub) : national;
  }

  function isViable(number) {
    return number.length >= MIN_LENGTH_FOR_NSN && data().viableRe.test(number);
  }

  // An extension (" ext. 123", ";ext=123", "#123"...) at the end goes, when what comes before it is viable.
  function stripExtension(number) {
    const m = data().extensionRe.exec(number);
    return m && isViable(number.slice(0, m.index)) ? number.slice(0, m.index) : number;
  }

  // ---------------------------------------------------------------- parsing

  function stripNationalPrefix(number, metadata) {
    const prefix = metadata.nationalPrefixForParsing;
    if (number.length === 0 || !prefix) return number;
    const re = regex(prefix, 'prefix');
    const m = re.exec(number);
    if (!m) return number;
    const viableOriginal = matchesPattern(number, metadata.general);
    const groups = m.length - 1;
    const rule = metadata.transformRule;
    if (!rule || m[groups] === undefined) {
      const rest = number.slice(m[0].length);
      if (viableOriginal && !matchesPattern(rest, metadata.general)) return number;
      return rest;
    }
    const transformed = number.replace(re, rule);
    if (viableOriginal && !matchesPattern(transformed, metadata.general)) return number;
    return transformed;
  }

  function extractCountryCode(number) {
    if (number.length === 0 || number[0] === '0') return [0, number];
    for (let i = 1; i <= Math.min(number.length, MAX_LENGTH_COUNTRY_CODE); i++) {
      const code = parseInt(number.slice(0, i), 10);
      if (regionsFor(code)) return [code, number.slice(i)];
    }
    return [0, number];
  }

  function stripInternationalPrefix(number, iddPattern) {
    const plus = PLUS_CHARS.exec(number);
    if (plus) return [true, normalize(number.slice(plus[0].length))];
    const normalized = normalize(number);
    const m = regex(iddPattern, 'prefix').exec(normalized);
    if (m) {
      const rest = normalized.slice(m[0].length);
      if (rest.length > 0 && rest[0] === '0') return [false, normalized];  // calling codes never begin with 0
      return [true, rest];
    }
    return [false, normalized];
  }

  function maybeExtractCountryCode(number, metadata) {
    if (number.length === 0) return [0, ''];
    const idd = metadata && metadata.internationalPrefix ? metadata.internationalPrefix : 'NonMatch';
    const [international, full] = stripInternationalPrefix(number, idd);
    if (international) {
      if (full.length <= MIN_LENGTH_FOR_NSN) throw new ParseError('TOO_SHORT_AFTER_IDD');
      const [code, rest] = extractCountryCode(full);
      if (code !== 0) return [code, rest];
      throw new ParseError('INVALID_COUNTRY_CODE');
    }
    if (metadata) {
      const own = String(metadata.countryCode);
      if (full.startsWith(own)) {
        const national = stripNationalPrefix(full.slice(own.length), metadata);
        if ((!matchesPattern(full, metadata.general) && matchesPattern(national, metadata.general)) ||
            testLength(full, metadata) === TOO_LONG) {
          return [metadata.countryCode, national];
        }
      }
    }
    return [0, ''];
  }

  // libphonenumber's parse(number, region): {countryCode, nationalNumber}, or a ParseError named as its errors.
  function parse(input, region) {
    if (input.length > MAX_INPUT_STRING_LENGTH) throw new ParseError('TOO_LONG');
    let national = nationalNumberForParsing(input);
    if (!isViable(national)) throw new ParseError('NOT_A_NUMBER');
    if (!data().regions[region] && !PLUS_CHARS.test(national)) throw new ParseError('INVALID_COUNTRY_CODE');
    national = stripExtension(national);
    let metadata = region ? metadataForRegion(region) : null;
    let code, normalized;
    try {
      [code, normalized] = maybeExtractCountryCode(national, metadata);
    } catch (e) {
      const plus = PLUS_CHARS.exec(national);
      if (!(e instanceof ParseError) || e.message !== 'INVALID_COUNTRY_CODE' || !plus) throw e;
      [code, normalized] = maybeExtractCountryCode(national.slice(plus[0].length), metadata);
      if (code === 0) throw new ParseError('INVALID_COUNTRY_CODE');
    }
    if (code !== 0) {
      const numberRegion = regionsFor(code)[0];
      if (numberRegion !== region) metadata = metadataFor(code, numberRegion);
    } else {
      normalized += normalize(national);
      if (metadata) code = metadata.countryCode;
    }
    if (normalized.length < MIN_LENGTH_FOR_NSN) throw new ParseError('TOO_SHORT_NSN');
    if (metadata) {
      const stripped = stripNationalPrefix(normalized, metadata);
      const verdict = testLength(stripped, metadata);
      if (verdict !== TOO_SHORT && verdict !== IS_POSSIBLE_LOCAL_ONLY && verdict !== INVALID_LENGTH) {
        normalized = stripped;
      }
    }
    if (normalized.length > MAX_LENGTH_FOR_NSN) throw new ParseError('TOO_LONG');
    return { countryCode: code, nationalNumber: significant(normalized) };
  }

  // The national significant number as libphonenumber keeps it: the digits as a number, with its leading zeros.
  function significant(digits) {
    let zeros = 0;
    if (digits.length > 1 && digits[0] === '0') {
      zeros = 1;
      while (zeros < digits.length - 1 && digits[zeros] === '0') zeros++;
    }
    return '0'.repeat(zeros) + String(BigInt(digits.slice(zeros) || '0'));
  }

  // ---------------------------------------------------------------- validation

  function regionOf(number) {
    const regions = regionsFor(number.countryCode);
    if (!regions) return null;
    if (regions.length === 1) return regions[0];
    for (const region of regions) {
      const metadata = metadataForRegion(region);
      if (!metadata) continue;
      if (metadata.leadingDigits !== null && metadata.leadingDigits !== undefined) {
        if (regex(metadata.leadingDigits, 'prefix').test(number.nationalNumber)) return region;
      } else if (typeOf(number.nationalNumber, metadata) !== 'UNKNOWN') {
        return region;
      }
    }
    return null;
  }

  function isValidForRegion(number, region) {
    if (!region) return false;
    const metadata = metadataFor(number.countryCode, region);
    if (!metadata || (region !== NON_GEO && number.countryCode !== metadata.countryCode)) return false;
    return typeOf(number.nationalNumber, metadata) !== 'UNKNOWN';
  }

  function numberType(number) {
    const metadata = metadataFor(number.countryCode, regionOf(number));
    return metadata ? typeOf(number.nationalNumber, metadata) : 'UNKNOWN';
  }

  function isPossible(number) {
    const regions = regionsFor(number.countryCode);
    if (!regions) return false;
    const verdict = testLength(number.nationalNumber, metadataFor(number.countryCode, regions[0]));
    return verdict === IS_POSSIBLE || verdict === IS_POSSIBLE_LOCAL_ONLY;
  }

  // libphonenumber's geocoder at country level (country_name_for_number in English).
  function countryName(number) {
    const regions = regionsFor(number.countryCode) || [];
    let region = 'ZZ';
    if (regions.length === 1) {
      region = regions[0];
    } else {
      for (const candidate of regions) {
        if (!isValidForRegion(number, candidate)) continue;
        if (region !== 'ZZ') return '';
        region = candidate;
      }
    }
    return data().names[region] || '';
  }

  function failed(error) {
    return { numberType: 'UNKNOWN', region: '', location: '', isPossibleNumber: false, isValidNumber: false,
      isValidNumberForRegion: false, number: '', error: error };
  }

  function getInfo(number, country) {
    if (number === undefined || number === null) return failed('NOT_A_NUMBER');
    const region = country === undefined || country === null || country === '' ? null : String(country).toUpperCase();
    let parsed;
    try {
      parsed = parse(String(number), region);
    } catch (e) {
      if (e instanceof ParseError) return failed(e.message === 'TOO_LONG' ? 'TOO_LONG_NSN' : e.message);
      throw e;
    }
    const detected = regionOf(parsed);
    return {
      numberType: numberType(parsed),
      region: detected || '',
      location: countryName(parsed),
      isPossibleNumber: isPossible(parsed),
      isValidNumber: isValidForRegion(parsed, detected),
      isValidNumberForRegion: isValidForRegion(parsed, region || detected),
      number: '+' + parsed.countryCode + parsed.nationalNumber,
    };
  }

  global.PhoneNumber = Object.freeze({ getInfo: getInfo });
})(globalThis);
