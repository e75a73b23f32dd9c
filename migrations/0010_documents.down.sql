-- The stored objects are not touched: SQL cannot reach them. Empty the bucket or
-- RAMPART_DATA_DIR/objects separately if the feature is removed for good.
drop table documents;
