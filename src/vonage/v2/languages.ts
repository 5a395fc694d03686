// The languages Verify v2 takes as `locale` (docs/vonage-languages.md): the 13 of the SDK's VerifyLocale
// enum, and the further languages that Vonage's Verify v2 languages guide lists with default templates
// for every channel (verify-v2.yml only points at that guide). The v2 gateway offers exactly these as
// `locale`; a language with custom templates only is not offered.

export const V2_LANGUAGES: ReadonlySet<string> = new Set([
  // SDK VerifyLocale (@vonage/verify2 enums/verifyLocale.d.ts)
  'en-us',
  'en-gb',
  'es-es',
  'es-mx',
  'es-us',
  'it-it',
  'fr-fr',
  'de-de',
  'ru-ru',
  'hi-in',
  'pt-br',
  'pt-pt',
  'id-id',
  // The languages guide, default templates
  'ar-xa',
  'cs-cz',
  'da-dk',
  'en-au',
  'en-in',
  'nl-nl',
  'zh-cn',
  'zh-tw',
]);
