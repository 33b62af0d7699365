import {
  type ColumnDefinitionNode,
  DataTypeNode,
  GeneratedNode,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

/** SQLite's column types that PostgreSQL spells differently (`real` would be 4 bytes there). */
const TYPES: Record<string, 'double precision' | 'bytea'> = { real: 'double precision', blob: 'bytea' };

class PortableDdl extends OperationNodeTransformer {
  protected override transformColumnDefinition(node: ColumnDefinitionNode): ColumnDefinitionNode {
    const column = super.transformColumnDefinition(node);
    if (!column.autoIncrement) return column;
    return {
      ...column,
      autoIncrement: false,
      generated: GeneratedNode.create({ identity: true, byDefault: true }),
    };
  }

  protected override transformDataType(node: DataTypeNode): DataTypeNode {
    const replacement = TYPES[node.dataType];
    return replacement ? DataTypeNode.create(replacement) : node;
  }
}

/**
 * Lets a migration written the SQLite way run on PostgreSQL (see migrations/portable.ts): an
 * `autoIncrement()` integer key becomes an identity column, `real` double precision, `blob` bytea.
 */
export class PortableDdlPlugin implements KyselyPlugin {
  private readonly transformer = new PortableDdl();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
