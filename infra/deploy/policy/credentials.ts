import { SECRET_NAME } from '../deploy-contract';
import { type KubeObject, describeObject } from '../deploy-tools';
import { allContainers, containerAt, podTemplateOf } from './objects';

const SECRET_LIKE_KEY = /pass(word|wd)?|secret|token|credential|api[-_]?key|private[-_]?key/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Why the pair `key=value` looks like a credential, or undefined. */
export function credentialProblem(key: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (URL_WITH_PASSWORD.test(value)) return `${key} holds a URL with a password in it`;
  if (PRIVATE_KEY.test(value)) return `${key} holds a private key`;
  if (SECRET_LIKE_KEY.test(key)) return `${key} looks like a credential and has a value`;
  return undefined;
}

/**
 * For base and production: no values that look like credentials in ConfigMaps
 * or in literal container env, and no Secret objects with data at all (they
 * are referenced by name and created outside the repository).
 */
export function credentialLeakProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (object.kind === 'Secret') {
      const keys = [
        ...Object.keys((object['data'] as object | undefined) ?? {}),
        ...Object.keys((object['stringData'] as object | undefined) ?? {}),
      ];
      if (keys.length > 0)
        problems.push(
          `${describeObject(object)} carries values (${keys.join(', ')}); reference secrets by name and create them outside the repository`,
        );
    }
    if (object.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries((object['data'] as Record<string, string> | undefined) ?? {})) {
        const problem = credentialProblem(key, value);
        if (problem) problems.push(`${describeObject(object)}: ${problem}; move it to the Secret ${SECRET_NAME}`);
      }
    }
    const template = podTemplateOf(object);
    for (const container of template ? allContainers(template.spec) : []) {
      for (const variable of container.env ?? []) {
        const problem = variable.value === undefined ? undefined : credentialProblem(variable.name, variable.value);
        if (problem) problems.push(`${containerAt(object, container)} env ${problem}; use a secretKeyRef`);
      }
    }
  }
  return problems;
}
