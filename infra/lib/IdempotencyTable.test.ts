import { describe } from 'vitest';
import { IDEMPOTENCY_TABLE_KEY } from '../../common/tables';
import { itIsAKeyedTable } from '../test/keyedTableChecks';
import { IdempotencyTable } from './IdempotencyTable';

describe('IdempotencyTable', () => {
  itIsAKeyedTable((stack) => new IdempotencyTable(stack, 'Idempotency'), IDEMPOTENCY_TABLE_KEY, [{ AttributeName: 'scopedKey', KeyType: 'HASH' }]);
});
