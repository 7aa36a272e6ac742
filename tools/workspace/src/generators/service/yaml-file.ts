import type { Tree } from '@nx/devkit';
import { type Document, isCollection, parseDocument } from 'yaml';

/**
 * Edits a YAML file of the tree through the `yaml` package's Document API, so
 * its comments, anchors, aliases and merge keys stay as they are; the text it
 * writes back is the file's own for every node `edit` leaves alone (see
 * {@link serialize}, which the spec round-trips the repository's files through).
 */
export function editYaml(tree: Tree, path: string, edit: (doc: Document) => void): void {
  const doc = parseDocument(readText(tree, path));
  if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
  edit(doc);
  tree.write(path, serialize(doc));
}

/**
 * The document as this repository writes YAML (prettier's style): no line
 * folding, `[a, b]` and `{ a: 1 }`. A comment the parser hangs on the end of a
 * top-level collection but which a blank line separates from it belongs to the
 * next key: it is moved there, so it keeps its column.
 */
export function serialize(doc: Document): string {
  const root = doc.contents;
  if (isCollection(root)) {
    root.items.forEach((pair, index) => {
      const next = root.items[index + 1];
      const value = (pair as { value?: unknown }).value;
      const comment = isCollection(value) ? value.comment : undefined;
      const nextKey = (next as { key?: { commentBefore?: string | null; spaceBefore?: boolean } } | undefined)?.key;
      if (!isCollection(value) || !comment || !nextKey) return;
      const split = comment.indexOf('\n\n');
      if (split < 0) return;
      value.comment = comment.slice(0, split) || null;
      nextKey.commentBefore = [comment.slice(split + 2), nextKey.commentBefore].filter(Boolean).join('\n');
      nextKey.spaceBefore = true;
    });
  }
  return doc.toString({ lineWidth: 0 }).replace(/\[ ([^[\]\n]*) \]/g, '[$1]');
}

export function readText(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new Error(`${path} does not exist`);
  return text;
}
