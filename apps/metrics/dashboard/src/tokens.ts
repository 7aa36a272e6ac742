export const VIEW = Symbol('VIEW');
