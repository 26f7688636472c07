/** The profiles every study's settings come in (lib/config/profiles.ts, lib/config/study2.ts). */
export const PROFILE_NAMES = ['smoke', 'teaching', 'full'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
