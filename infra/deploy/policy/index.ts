/**
 * Policy checks over rendered Kubernetes objects. Each returns a list of
 * problems, one sentence each naming the object and container, so a failing
 * test reads as a to-do list; an empty list means the objects comply.
 *
 * One module per kind of rule: containers (resources, image, security
 * context), lifecycle (probes, shutdown), labels, credentials, env (what each
 * app gets, and the ConfigMaps and Secrets it refers to), wiring (services,
 * budgets, autoscalers), scaled-objects and keda-triggers (KEDA); objects
 * reads the rendered objects for all of them.
 */
export { type ContainerPolicyOptions, containerProblems, imageProblem } from './containers';
export { credentialLeakProblems, credentialProblem } from './credentials';
export { type ReferenceOptions, appEnvProblems, referenceProblems } from './env';
export { PART_OF, labelProblems } from './labels';
export { probeProblems, shutdownProblems } from './lifecycle';
export { appOfImage, containerEnv, containerImages, isAppImage, podTemplateOf } from './objects';
export { type ScaledObjectOptions, kafkaReplicaProblems, scaledObjectProblems } from './scaled-objects';
export { wiringProblems } from './wiring';
