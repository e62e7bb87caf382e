import { describe } from 'vitest';
import { RESOURCES_TABLE_KEY } from '../../common/tables';
import { itIsAKeyedTable } from '../test/keyedTableChecks';
import { ResourcesTable } from './ResourcesTable';

describe('ResourcesTable', () => {
  // The TTL attribute is what expires deleted resources' tombstones.
  itIsAKeyedTable((stack) => new ResourcesTable(stack, 'Resources'), RESOURCES_TABLE_KEY, [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'resourceId', KeyType: 'RANGE' },
  ]);
});
