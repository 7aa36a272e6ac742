import { parseFanOutTask } from '@qls/feed-contracts';
import { PermanentError } from '@qls/messaging';
import { decodeTask, encodeTask } from './fan-out-task';

const task = {
  schemaVersion: 1 as const,
  action: 'add' as const,
  postId: '6f1c7a52-0d57-4f8e-9a43-0a0e2f3c1b11',
  authorId: 'a',
  score: 1.5,
  afterFollowerId: null,
  lastFollowerId: 'z',
  committedAt: 7,
  taskIndex: 3,
  activeSince: 100,
};

describe('fan-out task messages', () => {
  it('round-trip, and stay readable by the contract’s parser', () => {
    expect(decodeTask(encodeTask(task))).toEqual(task);
    expect(parseFanOutTask(encodeTask(task))).toMatchObject({ postId: task.postId, lastFollowerId: 'z' });
  });

  it('read a contract task without the planner’s extra fields', () => {
    const { taskIndex: _i, activeSince: _a, ...plain } = task;
    expect(decodeTask(JSON.stringify(plain))).toEqual(plain);
  });

  it('name what is wrong with an unreadable task, as a permanent error', () => {
    expect(() => decodeTask('{oops')).toThrow(PermanentError);
    expect(() => decodeTask(JSON.stringify({ ...task, lastFollowerId: '' }))).toThrow(/lastFollowerId/);
    expect(() => decodeTask(JSON.stringify({ ...task, action: 'shout' }))).toThrow(/action/);
  });
});
