-- A notification row is updated as its deliveries finish (counts and status),
-- and none of those columns is indexed: with free room on its page the update
-- is HOT, writing no index entry. Pages are filled to 80 % to leave that room.
ALTER TABLE "notifications" SET (fillfactor = 80);
