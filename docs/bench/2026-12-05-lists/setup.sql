DROP TABLE IF EXISTS list_speed_pgbench;
CREATE TABLE list_speed_pgbench (key text[] PRIMARY KEY, value jsonb NOT NULL, created timestamp with time zone DEFAULT CURRENT_TIMESTAMP, ttl interval);
CREATE FUNCTION pg_temp.doc(i int, base text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('contextUrl', null, 'documentUrl', base || i,
    'document', jsonb_build_object('@context', jsonb_build_array('https://www.w3.org/ns/activitystreams','https://w3id.org/security/v1'),
      'id', base || i, 'type', 'Person', 'preferredUsername', 'user' || i, 'name', 'User ' || i,
      'inbox', base || i || '/inbox', 'outbox', base || i || '/outbox', 'followers', base || i || '/followers', 'following', base || i || '/following',
      'publicKey', jsonb_build_object('id', base || i || '#main-key', 'owner', base || i,
         'publicKeyPem', E'-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' || repeat('x',180) || E'\n-----END PUBLIC KEY-----\n'),
      'summary', repeat('Lorem ipsum dolor sit amet. ', 6)))
$$;
INSERT INTO list_speed_pgbench (key, value) SELECT ARRAY['_fedify','bench-list','https://example.com/notes/' || i], pg_temp.doc(i, 'https://example.com/users/') FROM generate_series(0,999) i;
INSERT INTO list_speed_pgbench (key, value) SELECT ARRAY['_fedify','remoteDocument','https://example.com/users/' || i], pg_temp.doc(i, 'https://example.com/users/') FROM generate_series(0,19999) i;
VACUUM ANALYZE list_speed_pgbench;
SELECT avg(length(value::text)), count(*) FROM list_speed_pgbench;
