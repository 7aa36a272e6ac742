import { CREDENTIALS_UNUSED, appEnvFor } from '../deploy-contract';
import { type KubeObject, describeObject } from '../deploy-tools';
import { allContainers, appOfImage, containerAt, containerEnv, findObject, isAppImage, podTemplateOf } from './objects';

/**
 * Every app container (image `queues-logs-streams/<app>`) sets each variable of
 * APP_ENV (but the credentials CREDENTIALS_UNUSED says it does not read, which
 * it must not get) and of `perApp(<app>)`, directly or through an envFrom
 * ConfigMap/Secret, and names itself in SERVICE_NAME and OTEL_SERVICE_NAME.
 */
export function appEnvProblems(objects: readonly KubeObject[], perApp: (app: string) => readonly string[] = () => []): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    for (const container of template?.spec.containers ?? []) {
      if (!isAppImage(container.image)) continue;
      const where = containerAt(object, container);
      const names = containerEnv(objects, container);
      const app = appOfImage(container.image ?? '') ?? '';
      const missing = [...appEnvFor(app), ...perApp(app)].filter((name) => !names.has(name));
      if (missing.length > 0) problems.push(`${where} does not set ${missing.join(', ')}`);
      const unused = (CREDENTIALS_UNUSED[app] ?? []).filter((name) => names.has(name));
      if (unused.length > 0) problems.push(`${where} gets ${unused.join(', ')}, which ${app} does not read; leave them out`);
      for (const variable of container.env ?? []) {
        if ((variable.name === 'SERVICE_NAME' || variable.name === 'OTEL_SERVICE_NAME') && variable.value !== app) {
          problems.push(`${where} sets ${variable.name}=${variable.value ?? '(from a reference)'} but runs the image of ${app}`);
        }
      }
    }
  }
  return problems;
}

export interface ReferenceOptions {
  /**
   * Secrets that are not rendered because they are created outside the
   * repository (production, base). Any other referenced Secret must be
   * rendered and hold every key that is referenced without `optional: true`.
   */
  readonly externalSecrets: readonly string[];
}

/** ConfigMaps and Secrets that containers and volumes refer to exist (or are declared external) and hold the keys used. */
export function referenceProblems(objects: readonly KubeObject[], options: ReferenceOptions): string[] {
  const problems: string[] = [];
  const checkSecret = (where: string, name: string | undefined, key: string | undefined, optional: boolean | undefined) => {
    if (name === undefined) return problems.push(`${where} refers to a Secret without a name`);
    if (options.externalSecrets.includes(name)) return;
    const secret = findObject(objects, 'Secret', name);
    if (!secret) return problems.push(`${where} refers to Secret ${name}, which is neither rendered nor declared external`);
    const keys = {
      ...((secret['data'] as object | undefined) ?? {}),
      ...((secret['stringData'] as object | undefined) ?? {}),
    };
    if (key !== undefined && !(key in keys) && optional !== true)
      problems.push(`${where} needs key ${key} of Secret ${name}, which does not have it`);
    return undefined;
  };
  const checkConfigMap = (where: string, name: string | undefined, key: string | undefined, optional: boolean | undefined) => {
    const configMap = findObject(objects, 'ConfigMap', name);
    if (!configMap) {
      if (optional !== true) problems.push(`${where} refers to ConfigMap ${name ?? '(no name)'}, which is not rendered`);
      return;
    }
    if (key !== undefined && !(key in ((configMap['data'] as object | undefined) ?? {})) && optional !== true) {
      problems.push(`${where} needs key ${key} of ConfigMap ${name}, which does not have it`);
    }
  };
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    for (const container of allContainers(template.spec)) {
      const where = containerAt(object, container);
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) checkConfigMap(where, source.configMapRef.name, undefined, source.configMapRef.optional);
        if (source.secretRef) checkSecret(where, source.secretRef.name, undefined, source.secretRef.optional);
      }
      for (const variable of container.env ?? []) {
        const secretRef = variable.valueFrom?.secretKeyRef;
        const configRef = variable.valueFrom?.configMapKeyRef;
        if (secretRef) checkSecret(`${where} env ${variable.name}`, secretRef.name, secretRef.key, secretRef.optional);
        if (configRef) checkConfigMap(`${where} env ${variable.name}`, configRef.name, configRef.key, configRef.optional);
      }
    }
    for (const volume of template.spec.volumes ?? []) {
      const where = `${describeObject(object)} volume "${volume.name}"`;
      if (volume.configMap) checkConfigMap(where, volume.configMap.name, undefined, volume.configMap.optional);
      if (volume.secret) checkSecret(where, volume.secret.secretName, undefined, volume.secret.optional);
    }
  }
  // KEDA reads these Secrets itself; kustomize renames generated Secrets only where it is told to.
  for (const object of objects.filter((o) => o.kind === 'TriggerAuthentication')) {
    const refs = ((object['spec'] as { secretTargetRef?: { parameter?: string; name?: string; key?: string }[] } | undefined)
      ?.secretTargetRef ?? []) as { parameter?: string; name?: string; key?: string }[];
    for (const ref of refs) checkSecret(`${describeObject(object)} parameter ${ref.parameter ?? '(none)'}`, ref.name, ref.key, false);
  }
  return problems;
}
