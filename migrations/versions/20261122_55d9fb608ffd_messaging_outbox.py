"""messaging outbox

Revision ID: 55d9fb608ffd
Revises: e5404125c0e6
Create Date: 2026-11-22 15:55:58.697973
"""

from alembic import op
import sqlalchemy as sa
import messaging.db


revision = '55d9fb608ffd'
down_revision = 'e5404125c0e6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('address_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('updated_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_status')),
    sa.UniqueConstraint('channel', 'address', name=op.f('uq_address_status_channel_address'))
    )
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('subject_key', sa.String(length=100), nullable=True),
    sa.Column('recipient_key', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('excluded_channels', sa.JSON(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('safe_hours', sa.String(length=11), nullable=True),
    sa.Column('send_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_after', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('next_attempt_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('in_doubt', sa.Boolean(), nullable=False),
    sa.Column('claimed_until', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('provider_status', sa.String(length=20), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('delivery_retried', sa.Boolean(), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_message_idempotency_key'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_recipient_key'), ['recipient_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_subject_key'), ['subject_key'], unique=False)

    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('from_address', sa.String(length=254), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipient_key', sa.String(length=100), nullable=True),
    sa.Column('in_reply_to_id', sa.Integer(), nullable=True),
    sa.Column('intent', sa.String(length=20), nullable=False),
    sa.Column('inbox_status', sa.String(length=20), nullable=False),
    sa.Column('handled_by', sa.String(length=100), nullable=True),
    sa.Column('handled_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['in_reply_to_id'], ['message.id'], name=op.f('fk_inbound_message_in_reply_to_id_message'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_message')),
    sa.UniqueConstraint('provider_id', name=op.f('uq_inbound_message_provider_id'))
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_message_from_address'), ['from_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_message_recipient_key'), ['recipient_key'], unique=False)

    op.create_table('message_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_message', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_attempt_message_id_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attempt'))
    )
    with op.batch_alter_table('message_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attempt_message_id'), ['message_id'], unique=False)

    op.create_table('message_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_event_message_id_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_event'))
    )
    with op.batch_alter_table('message_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_event_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('message_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_event_message_id'))

    op.drop_table('message_event')
    with op.batch_alter_table('message_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attempt_message_id'))

    op.drop_table('message_attempt')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_recipient_key'))
        batch_op.drop_index(batch_op.f('ix_inbound_message_from_address'))

    op.drop_table('inbound_message')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_subject_key'))
        batch_op.drop_index(batch_op.f('ix_message_recipient_key'))
        batch_op.drop_index(batch_op.f('ix_message_provider_id'))
        batch_op.drop_index('ix_message_due')

    op.drop_table('message')
    op.drop_table('address_status')
