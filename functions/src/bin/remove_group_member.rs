//! The `remove_group_member` Lambda: see `im_functions::by_name::remove_group_member`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::remove_group_member()).await
}
