import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { feedApiLimits, feedApiRequestSchemas } from '@qls/feed-service';

const schemas = feedApiRequestSchemas(feedApiLimits);

const post = z.strictObject({ id: z.string(), authorId: z.string(), authorHandle: z.string(), body: z.string(), createdAt: z.string() });
const user = z.strictObject({
  id: z.string(),
  handle: z.string(),
  followerCount: z.number().int(),
  followingCount: z.number().int(),
  createdAt: z.string(),
});
const follow = z.strictObject({
  followerId: z.string(),
  followeeId: z.string(),
  following: z.boolean(),
  followeeFollowerCount: z.number().int(),
});
const hit = z.strictObject({
  id: z.string(),
  authorId: z.string(),
  authorHandle: z.string().nullable(),
  body: z.string(),
  createdAt: z.string(),
  rank: z.number(),
});
const id = z.string();

/** Create → read (and delete): the answer's id. */
const toUser = {
  getUser: { operationId: 'getUser', parameters: { id: '$response.body#/id' } },
  getUserStats: { operationId: 'getUserStats', parameters: { id: '$response.body#/id' } },
};
const toPost = {
  getPost: { operationId: 'getPost', parameters: { id: '$response.body#/id' } },
  deletePost: { operationId: 'deletePost', parameters: { id: '$response.body#/id' } },
};

/** feed-api's contract (docs/api/feed-api.json, served at /openapi.json). */
export const openApi = openApiDocument({
  title: 'feed-api',
  version: '1',
  description: 'Users, follows, posts, the home feed and search (apps/feeds/api/README.md).',
  operations: [
    {
      method: 'post',
      path: '/users',
      operationId: 'createUser',
      summary: 'Register the caller (the token subject) with a handle: 201, or 200 when already registered with it',
      body: schemas.createUser,
      responses: {
        200: { description: 'Already registered', body: user, links: toUser },
        201: { description: 'Registered', body: user, links: toUser },
      },
      errors: [409],
    },
    {
      method: 'get',
      path: '/users/{id}',
      operationId: 'getUser',
      summary: 'A user',
      params: { id },
      responses: { 200: { description: 'The user', body: user } },
      errors: [404],
    },
    {
      method: 'get',
      path: '/users/{id}/stats',
      operationId: 'getUserStats',
      summary: "A user's posts per hour in [from, to)",
      params: { id },
      query: schemas.statsQuery,
      responses: {
        200: {
          description: 'Posts per hour',
          body: z.strictObject({
            userId: z.string(),
            from: z.string(),
            to: z.string(),
            posts: z.number().int(),
            hours: z.array(z.strictObject({ hour: z.string(), posts: z.number().int() })),
          }),
        },
      },
      errors: [404],
    },
    {
      method: 'put',
      path: '/users/{id}/following/{followeeId}',
      operationId: 'follow',
      summary: 'The caller ({id}) follows {followeeId}: 201, or 200 when already following',
      params: { id, followeeId: id },
      responses: { 200: { description: 'Already following', body: follow }, 201: { description: 'Now following', body: follow } },
      errors: [403, 404],
    },
    {
      method: 'delete',
      path: '/users/{id}/following/{followeeId}',
      operationId: 'unfollow',
      summary: 'The caller ({id}) stops following {followeeId}',
      params: { id, followeeId: id },
      responses: { 200: { description: 'Not following', body: follow } },
      errors: [403, 404],
    },
    {
      method: 'post',
      path: '/posts',
      operationId: 'createPost',
      summary: 'Post as the caller: 201, or 200 for a repeat with the same postId',
      body: schemas.createPost,
      responses: { 200: { description: 'A repeat', body: post, links: toPost }, 201: { description: 'Posted', body: post, links: toPost } },
      errors: [403, 409],
    },
    {
      method: 'get',
      path: '/posts/{id}',
      operationId: 'getPost',
      summary: 'A post',
      params: { id },
      responses: { 200: { description: 'The post', body: post } },
      errors: [404],
    },
    {
      method: 'delete',
      path: '/posts/{id}',
      operationId: 'deletePost',
      summary: "Delete one of the caller's posts",
      params: { id },
      responses: { 204: { description: 'Deleted' } },
      errors: [403, 404],
    },
    {
      method: 'get',
      path: '/feed',
      operationId: 'getFeed',
      summary: "The caller's home feed, newest first, a page at a time",
      query: schemas.feedQuery,
      responses: {
        200: {
          description: 'A page',
          body: z.strictObject({ items: z.array(post), nextCursor: z.string().nullable(), regenerating: z.boolean() }),
        },
      },
      errors: [403],
    },
    {
      method: 'get',
      path: '/search',
      operationId: 'search',
      summary: 'Posts matching q, most relevant first',
      query: schemas.searchQuery,
      responses: { 200: { description: 'A page', body: z.strictObject({ items: z.array(hit), nextCursor: z.string().nullable() }) } },
    },
  ],
});
