import { describe } from 'vitest';
import { STATUS_TABLE_KEY } from '../../common/tables';
import { itIsAKeyedTable } from '../test/keyedTableChecks';
import { StatusTable } from './StatusTable';

describe('StatusTable', () => {
  itIsAKeyedTable((stack) => new StatusTable(stack, 'Status'), STATUS_TABLE_KEY, [
    { AttributeName: 'requestId', KeyType: 'HASH' },
    { AttributeName: 'kind', KeyType: 'RANGE' },
  ]);
});
