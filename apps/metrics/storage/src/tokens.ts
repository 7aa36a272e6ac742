export const SERIES_LIMITS = Symbol('SERIES_LIMITS');
