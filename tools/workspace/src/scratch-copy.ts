import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Replaces `copy` with a copy of the checkout at `root`: the files `git
 * ls-files` shows, untracked ones git does not ignore included, as they are in
 * the working tree, and `node_modules` linked. For checks that change the tree
 * (dropping a system, generating a service) without touching the checkout.
 */
export function copyCheckout(root: string, copy: string): void {
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  // --ignore-failed-read: a tracked file deleted in the working tree is not copied.
  const pack = spawnSync('tar', ['--null', '--ignore-failed-read', '-cf', '-', '-T', '-'], {
    cwd: root,
    input: files.stdout,
    maxBuffer: 1024 * 1024 * 1024,
  });
  spawnSync('tar', ['-xf', '-'], { cwd: copy, input: pack.stdout });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
}
