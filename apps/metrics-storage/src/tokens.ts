export const STORE = Symbol('STORE');
export const SERIES_LIMITS = Symbol('SERIES_LIMITS');
