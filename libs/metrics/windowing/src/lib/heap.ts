/**
 * Binary min-heap operations on a plain array (so a snapshot can store the
 * array as is and a restore gets the very same pop order back).
 */
export type Less<T> = (a: T, b: T) => boolean;

export function heapPush<T>(heap: T[], item: T, less: Less<T>): void {
  let i = heap.push(item) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(item, heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = item;
}

export function heapPop<T>(heap: T[], less: Less<T>): T | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && less(heap[right], heap[left]) ? right : left;
    if (!less(heap[child], last)) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
  return top;
}
