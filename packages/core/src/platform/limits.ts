/** Size caps on what a client may send; part of the public contract (README "Limits"). */
export const LIMITS = {
  userIdLength: 256,
  messageLength: 10_000,
  subjectLength: 998,
  typeLength: 100,
  /** Serialized JSON size of a notification's `data`, in bytes. */
  dataBytes: 16_384,
  devicesPerUser: 20,
  /** Characters in one template field (email text or HTML). */
  templateSourceLength: 100_000,
  /** Recipients in one POST /notifications/bulk. */
  bulkRecipients: 1000,
  /** User ids in one topic subscribe/unsubscribe call. */
  topicUsersPerCall: 1000,
  pageSize: 100,
  /** Nesting of objects and arrays in a JSON body (the body itself is level 1); deeper is 422. */
  jsonDepth: 32,
  defaultPageSize: 20,
} as const;

/**
 * Open inbox streams (Server-Sent Events) at once, across every API replica;
 * the defaults of INBOX_STREAMS_PER_APP and INBOX_STREAMS_PER_USER. Past
 * either, opening another answers 429.
 */
export const STREAM_LIMITS = { perApp: 1000, perUser: 10 } as const;
